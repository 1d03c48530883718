import { expect } from 'chai';
import fc from 'fast-check';
import {
  type App,
  type JoinType,
  MemoryBroker,
  type ProducerRecord,
  createApp,
  defaultLogger,
  joinStreams,
  json,
  silentLogger,
  toTopic,
  windowJoin,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { ChaosTransport } from '../support/chaos-transport.js';

interface Rec {
  readonly id: string;
  readonly key: string;
  readonly left: boolean;
  readonly t: number;
}
interface Joined {
  readonly l: string | null;
  readonly r: string | null;
}

const JOIN_TOPIC = 'shop-paid-join';
const WITHIN = 10;
const GRACE = 5;
const FLUSH_AT = 1_000_000;
const debug = Boolean(process.env.DEBUG_JOIN);

/**
 * The join as a sequential model: per partition of the join topic, in offset order, with stream time,
 * lateness and expiry as `joinStreams` documents them (stream time: the lower of the two sides' highest
 * event times, a side not seen yet holding nothing back; never idle here). Returns the distinct
 * results (`l|r`) and the late records' ids.
 */
function model(
  type: JoinType,
  partitions: readonly (readonly Rec[])[],
): { results: string[]; late: string[] } {
  const results: string[] = [];
  const late: string[] = [];
  for (const records of partitions) {
    let streamTime = Number.NEGATIVE_INFINITY;
    const highest = { left: Number.NEGATIVE_INFINITY, right: Number.NEGATIVE_INFINITY };
    const buffered: { rec: Rec; matched: boolean }[] = [];
    const expireUpTo = (watermark: number): void => {
      for (let i = buffered.length - 1; i >= 0; i--) {
        const { rec, matched } = buffered[i]!;
        if (rec.t + 2 * WITHIN + 1 > watermark) continue;
        buffered.splice(i, 1);
        if (!matched && type !== 'inner' && (rec.left || type === 'outer'))
          results.push(rec.left ? `${rec.id}|` : `|${rec.id}`);
      }
    };
    for (const rec of records) {
      if (rec.t + WITHIN < streamTime - GRACE) {
        late.push(rec.id);
        continue;
      }
      let matched = false;
      for (const other of buffered)
        if (
          other.rec.key === rec.key &&
          other.rec.left !== rec.left &&
          Math.abs(other.rec.t - rec.t) <= WITHIN
        ) {
          matched = other.matched = true;
          results.push(rec.left ? `${rec.id}|${other.rec.id}` : `${other.rec.id}|${rec.id}`);
        }
      buffered.push({ rec, matched });
      const side = rec.left ? 'left' : 'right';
      highest[side] = Math.max(highest[side], rec.t);
      const seen = [highest.left, highest.right].filter((t) => t > Number.NEGATIVE_INFINITY);
      streamTime = Math.max(streamTime, Math.min(...seen));
      expireUpTo(streamTime - GRACE);
    }
  }
  return { results: [...new Set(results)].sort(), late: late.sort() };
}

interface Worker {
  readonly app: App;
  readonly transport: ChaosTransport;
  readonly shutdownTimeoutMs: { value: number };
}

const slot = fc.integer({ min: 0, max: 1 });
const step = fc.oneof(
  fc.record({ kind: fc.constant('produce' as const), count: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('start' as const), slot }),
  fc.record({ kind: fc.constant('kill' as const), slot, afterMs: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ kind: fc.constant('stop' as const), slot, timeoutMs: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 15 }) }),
);

const TOTAL = 60;
const scenario = fc.record({
  type: fc.constantFrom<JoinType>('inner', 'left', 'outer'),
  partitions: fc.integer({ min: 1, max: 3 }),
  keys: fc.integer({ min: 1, max: 3 }),
  batchSize: fc.integer({ min: 1, max: 10 }),
  sides: fc.array(fc.boolean(), { minLength: TOTAL, maxLength: TOTAL }),
  /** Event time = 4 per record + this: out of order by up to 30 ms, so some records are late. */
  jitter: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: TOTAL, maxLength: TOTAL }),
  steps: fc.array(step, { minLength: 1, maxLength: 12 }),
});

const agentOptions = {
  commitIntervalMs: 1,
  stallTimeoutMs: 0,
  errors: { retries: 5, backoff: { initialDelayMs: 1, maxDelayMs: 2 } },
};

describe('stream–stream join, expiry and lateness across crashes, model-based (memory broker)', () => {
  // RUNS, SEED, FC_PATH and DEBUG_JOIN help reproduce a failure.
  let runsWithLate = 0;
  let runsWithUnmatched = 0;
  after(() => {
    if (debug) console.error({ runsWithLate, runsWithUnmatched });
  });

  it('with records expiring and arriving late while the join agent crashes, stops and rebalances, the results and the late records are the sequential model’s', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const broker = new MemoryBroker({ defaultPartitions: s.partitions });
        const slots: (Worker | undefined)[] = [];
        const all: Worker[] = [];
        const byPartition: Rec[][] = Array.from({ length: s.partitions }, () => []);
        let produced = 0;

        const startWorker = async (): Promise<Worker> => {
          const transport = new ChaosTransport(broker, { batchSize: s.batchSize, delayMs: 1, refusals: 0 });
          const shutdownTimeoutMs = { value: 2000 };
          const app = createApp({
            id: 'shop',
            transport,
            logger: debug ? defaultLogger('join') : silentLogger,
            get shutdownTimeoutMs() {
              return shutdownTimeoutMs.value;
            },
          });
          const left = app.topic<Rec>('orders', { value: json(), partitions: 1 });
          const right = app.topic<Rec>('payments', { value: json(), partitions: 1 });
          const paid = joinStreams(app, 'paid', left, right, {
            within: WITHIN,
            graceMs: GRACE,
            type: s.type,
            partitions: s.partitions,
            late: 'dead-letter',
            idleAfterMs: 1e9,
          });
          const joined = app.topic<Joined>('joined', { value: json(), partitions: 1 });
          app.agent(
            'match',
            paid.topic,
            (side$) =>
              side$.pipe(
                windowJoin(paid, (l, r) => ({ l: l?.id ?? null, r: r?.id ?? null })),
                toTopic(joined),
              ),
            { ...agentOptions, errors: { ...agentOptions.errors, deadLetterTopic: 'late' } },
          );
          await app.start();
          const worker = { app, transport, shutdownTimeoutMs };
          all.push(worker);
          return worker;
        };

        /** Records straight into the join topic (as the copy agents would write them), in a fixed order. */
        const produce = (count: number): void => {
          for (let i = 0; i < count && produced < TOTAL; i++, produced++) {
            const rec: Rec = {
              id: `${s.sides[produced] ? 'o' : 'p'}${produced}`,
              key: `k${(produced * 7) % s.keys}`,
              left: s.sides[produced]!,
              t: produced * 4 + s.jitter[produced]!,
            };
            const record: ProducerRecord = {
              topic: JOIN_TOPIC,
              key: Buffer.from(rec.key),
              value: Buffer.from(`${rec.left ? 'L' : 'R'}${JSON.stringify(rec)}`),
              timestamp: rec.t,
            };
            const [meta] = broker.produce([record]);
            byPartition[meta!.partition]!.push(rec);
          }
        };

        try {
          broker.createTopic(JOIN_TOPIC, s.partitions);
          broker.createTopic('joined', 1);
          broker.createTopic('late', 1);
          slots[0] = await startWorker();
          for (const action of s.steps) {
            if (debug) console.error(action);
            if (action.kind === 'produce') produce(action.count);
            else if (action.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, action.ms));
            else if (action.kind === 'start') slots[action.slot] ??= await startWorker();
            else {
              const worker = slots[action.slot];
              slots[action.slot] = undefined;
              if (!worker) continue;
              if (action.kind === 'kill') {
                await new Promise((resolve) => setTimeout(resolve, action.afterMs));
                await worker.transport.kill();
              } else {
                worker.shutdownTimeoutMs.value = action.timeoutMs;
                await worker.app.stop();
              }
            }
          }
          if (!slots.some(Boolean)) slots[0] = await startWorker();
          produce(TOTAL);
          // Far ahead on every partition, on both sides (keys of their own): every buffered record expires.
          for (let n = 0; n < 32; n++) {
            const rec: Rec = { id: `flush${n}`, key: `flush${n >> 1}`, left: n % 2 === 0, t: FLUSH_AT };
            const [meta] = broker.produce([
              {
                topic: JOIN_TOPIC,
                key: Buffer.from(rec.key),
                value: Buffer.from(`${rec.left ? 'L' : 'R'}${JSON.stringify(rec)}`),
                timestamp: rec.t,
              },
            ]);
            byPartition[meta!.partition]!.push(rec);
          }
          const expected = model(s.type, byPartition);
          if (expected.late.length > 0) runsWithLate++;
          if (expected.results.some((r) => r.startsWith('|') || r.endsWith('|'))) runsWithUnmatched++;
          const distinct = (): string[] =>
            [
              ...new Set(
                broker
                  .read('joined', 0, 0, 100_000)
                  .map((r) => JSON.parse(r.value!.toString()) as Joined)
                  .map((j) => `${j.l ?? ''}|${j.r ?? ''}`),
              ),
            ].sort();
          const late = (): string[] =>
            [
              ...new Set(
                broker
                  .read('late', 0, 0, 100_000)
                  .map((r) => (JSON.parse(r.value!.subarray(1).toString()) as Rec).id),
              ),
            ].sort();
          const live = slots.filter((w) => w !== undefined);
          await waitFor(() => distinct().length >= expected.results.length, { timeoutMs: 10_000 }).catch(
            () => undefined,
          );
          await waitForCommitted(live[0]!.app, { timeoutMs: 10_000 });
          expect(distinct()).to.deep.equal(expected.results);
          expect(late()).to.deep.equal(expected.late);
        } finally {
          await Promise.all(all.map((worker) => worker.app.stop()));
        }
      }),
      {
        numRuns: Number(process.env.RUNS ?? 25),
        endOnFailure: debug,
        ...(process.env.SEED ? { seed: Number(process.env.SEED), path: process.env.FC_PATH } : {}),
      },
    );
  }).timeout(90_000);
});
