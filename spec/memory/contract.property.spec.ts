import { expect } from 'chai';
import fc from 'fast-check';
import { type Observable, bufferTime, map, pipe, tap, timer } from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  filterValue,
  json,
  mergeMapValue,
  sink,
  silentLogger,
  mapValue,
  type App,
  type Message,
  type Transport,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { Handled, auditCommits, deadLettered, writtenOrDeadLettered } from '../support/audit.js';
import { delegateTransport } from '../support/delegate.js';

interface Item {
  readonly id: number;
}

const scenario = fc.record({
  count: fc.integer({ min: 1, max: 250 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  concurrency: fc.integer({ min: 1, max: 16 }),
  maxInFlight: fc.integer({ min: 8, max: 200 }),
  batchMs: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  delays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 250, maxLength: 250 }),
  dropped: fc.array(fc.boolean(), { minLength: 250, maxLength: 250 }),
  crashAfter: fc.option(fc.nat({ max: 250 }), { nil: undefined }),
});

/*
 * Time is bounded at every level, so that a stuck run fails fast instead of timing the suite out (a run
 * whose agent stays paused for good once cost 10 s per wait, times three waits, times every shrinking
 * step):
 * - each run shares one budget between its waits ({@link RUN_BUDGET_MS}), and every app stops within
 *   {@link STOP_MS} (its shutdown timeout);
 * - fast-check marks a run that still has not answered after {@link RUN_LIMIT_MS} as failed;
 * - the whole property, shrinking included, is interrupted after {@link PROPERTY_LIMIT_MS}: a failure found
 *   by then is reported with its seed and path (to replay it with `{ seed, path }`), shrunk as far as it
 *   got; with no failure, the runs done count;
 * - the mocha timeout is set on each test, above the sum.
 * A healthy run takes 20 to 200 ms.
 */
const RUN_BUDGET_MS = 6_000;
const STOP_MS = 1_000;
const RUN_LIMIT_MS = RUN_BUDGET_MS + 6 * STOP_MS;
const PROPERTY_LIMIT_MS = 30_000;
const TEST_TIMEOUT_MS = PROPERTY_LIMIT_MS + RUN_LIMIT_MS + 5_000;
const bounded = [fc.timeout(RUN_LIMIT_MS), fc.interruptAfterTimeLimit(PROPERTY_LIMIT_MS)];

/** A run's time budget: what is left of it, for the next wait (at least a moment, to fail with a message). */
function budget(ms: number): () => number {
  const deadline = Date.now() + ms;
  return () => Math.max(50, deadline - Date.now());
}

describe('processing contract, property-based (memory broker)', () => {
  it('for random completion orders, filters, batch windows and crash points: nothing lost, no commit passes an unsettled offset', async function () {
    this.timeout(TEST_TIMEOUT_MS);
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const left = budget(RUN_BUDGET_MS);
        const broker = new MemoryBroker({ defaultPartitions: s.partitions });
        const handled = new Handled();
        const seen = new Set<number>();
        let handledCount = 0;
        const mark = (message: Message<unknown, unknown>) => {
          handled.add(message.topic, message.partition, message.offset);
          handledCount++;
        };
        const worker = () => {
          const inner = new MemoryTransport(broker, { batchSize: 37 });
          const audited = auditCommits(inner, handled);
          const app = createApp({
            id: 'prop',
            transport: audited.transport,
            logger: silentLogger,
            shutdownTimeoutMs: STOP_MS,
          });
          const items = app.topic<Item>('items', { value: json() });
          const write = sink<Item, string | null>(
            (batch) => {
              for (const message of batch) {
                seen.add(message.value.id);
                mark(message);
              }
              return timer(0);
            },
            { name: 'record' },
          );
          const batched = (source: Observable<Message<Item, string | null>>) =>
            s.batchMs === undefined ? source.pipe(write) : source.pipe(bufferTime(s.batchMs), write);
          app.agent(
            'agent',
            items,
            pipe(
              filterValue((item: Item, message) => {
                if (s.dropped[item.id]) mark(message);
                return !s.dropped[item.id];
              }),
              mergeMapValue((item: Item) => timer(s.delays[item.id]!).pipe(map(() => item)), {
                concurrency: s.concurrency,
              }),
              batched,
            ),
            { maxInFlight: s.maxInFlight, commitIntervalMs: 1, stallTimeoutMs: 0 },
          );
          return { app, inner, items, violations: audited.violations };
        };

        const first = worker();
        const workers = [first];
        try {
          await first.app.start();
          await first.items.sendMany(
            Array.from({ length: s.count }, (_, id) => ({ key: `k${id}`, value: { id } })),
          );
          if (s.crashAfter !== undefined && s.crashAfter < s.count) {
            await waitFor(() => handledCount >= s.crashAfter!, { timeoutMs: left() });
            await first.inner.crash();
            const second = worker();
            workers.push(second);
            await second.app.start();
            await waitForCommitted(second.app, { timeoutMs: left() });
          } else {
            await waitForCommitted(first.app, { timeoutMs: left() });
          }
        } finally {
          await Promise.all(workers.map((w) => w.app.stop()));
        }

        const expected = Array.from({ length: s.count }, (_, id) => id).filter((id) => !s.dropped[id]);
        expect([...seen].sort((a, b) => a - b)).to.deep.equal(expected);
        expect(workers.flatMap((w) => w.violations)).to.deep.equal([]);
        const ends = broker.endOffsets('items');
        expect(broker.committedOffsets('prop.agent', 'items')).to.deep.equal(
          ends.filter((e) => e.offset > 0),
        );
      }),
      { numRuns: 30, plugins: bounded },
    );
  });

  it('with failures injected (transient, permanent, pipeline throws, failing sink and dead-letter produce, stop, rebalance, restart): every commit covers only written or dead-lettered records', async function () {
    this.timeout(TEST_TIMEOUT_MS);
    await fc.assert(fc.asyncProperty(chaos, runChaos), { numRuns: 14, plugins: bounded });
  });
});

/** How one record misbehaves. */
type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'transient'; readonly times: number } // mapValue throws `times` times, then succeeds
  | { readonly kind: 'permanent' } // mapValue throws a `retriable: false` error, always
  | { readonly kind: 'pipeline'; readonly times: number } // a plain `map` throws `times` times
  | { readonly kind: 'sink'; readonly times: number }; // the sink's write fails `times` times

const MAX = 60;
const fault: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('transient' as const), times: fc.integer({ min: 1, max: 4 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'permanent' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('pipeline' as const), times: fc.integer({ min: 1, max: 2 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('sink' as const), times: fc.integer({ min: 1, max: 3 }) }),
  },
);

const chaos = fc.record({
  count: fc.integer({ min: 1, max: MAX }),
  partitions: fc.integer({ min: 1, max: 3 }),
  maxInFlight: fc.integer({ min: 4, max: 40 }),
  batchMs: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  delays: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: MAX, maxLength: MAX }),
  faults: fc.array(fault, { minLength: MAX, maxLength: MAX }),
  // The dead-letter produce: works, fails every other call, or fails always (the agent then fails).
  deadLetter: fc.oneof(
    { weight: 3, arbitrary: fc.constant('ok' as const) },
    { weight: 2, arbitrary: fc.constant('flaky' as const) },
    { weight: 1, arbitrary: fc.constant('down' as const) },
  ),
  // Stop the first worker once this many records went through (while others are failing, retrying).
  stopAfter: fc.option(fc.nat({ max: MAX }), { nil: undefined }),
  // A second worker of the same group joins after this many records, then leaves.
  joinAfter: fc.option(fc.nat({ max: MAX }), { nil: undefined }),
});

type Chaos = typeof chaos extends fc.Arbitrary<infer R> ? R : never;

async function runChaos(s: Chaos): Promise<void> {
  const left = budget(RUN_BUDGET_MS);
  const broker = new MemoryBroker({ defaultPartitions: s.partitions });
  const written = new Handled();
  const handled = writtenOrDeadLettered(written, broker, 'items.dlq');
  const tries = new Map<string, number>(); // `${stage}:${id}` → attempts so far, across workers
  const writtenIds = new Set<number>();
  const violations: string[] = [];
  const live = new Set<App>();
  const sampler = setInterval(() => {
    for (const app of live)
      for (const agent of app.agents) {
        const stats = agent.stats();
        if (stats.inFlight < 0) violations.push(`inFlight ${stats.inFlight} < 0`);
        if (stats.window > s.maxInFlight) violations.push(`window ${stats.window} > ${s.maxInFlight}`);
      }
  }, 1);
  const failing = (stage: string, id: number, times: number): boolean => {
    const key = `${stage}:${id}`;
    const n = (tries.get(key) ?? 0) + 1;
    tries.set(key, n);
    return n <= times;
  };
  const progress = (): number => writtenIds.size + deadLettered(broker, 'items.dlq').size();

  const worker = (deadLetter: 'ok' | 'flaky' | 'down') => {
    const inner = new MemoryTransport(broker, { batchSize: 7 });
    let produces = 0;
    const faulty: Transport = delegateTransport(inner, {
      produce: async (records) => {
        if (records.some((r) => r.topic.endsWith('.dlq'))) {
          produces++;
          if (deadLetter === 'down' || (deadLetter === 'flaky' && produces % 2 === 1))
            throw new Error('dead-letter topic unavailable');
        }
        return inner.produce(records);
      },
    });
    const audited = auditCommits(faulty, handled);
    const app = createApp({
      id: 'chaos',
      transport: audited.transport,
      logger: silentLogger,
      shutdownTimeoutMs: STOP_MS,
    });
    const items = app.topic<Item>('items', { value: json() });
    const write = sink<Item, string | null>(
      (batch) => {
        const fail = batch.some((m) => {
          const f = s.faults[m.value.id]!;
          return f.kind === 'sink' && failing('sink', m.value.id, f.times);
        });
        const delay = Math.max(...batch.map((m) => s.delays[m.value.id]!));
        // A write counts once it succeeded: recorded when its observable completes, never when it starts.
        return timer(delay).pipe(
          tap(() => {
            if (fail) throw new Error('write failed');
          }),
          tap({
            complete: () => {
              for (const m of batch) {
                written.add(m.topic, m.partition, m.offset);
                writtenIds.add(m.value.id);
              }
            },
          }),
        );
      },
      { name: 'chaos-sink', retry: { retries: 1, backoff: { initialDelayMs: 1, maxDelayMs: 2 } } },
    );
    const batched = (source: Observable<Message<Item, string | null>>) =>
      s.batchMs === undefined ? source.pipe(write) : source.pipe(bufferTime(s.batchMs), write);
    app.agent(
      'agent',
      items,
      pipe(
        map((m: Message<Item, string | null>) => {
          const f = s.faults[m.value.id]!;
          if (f.kind === 'pipeline' && failing('pipeline', m.value.id, f.times))
            throw new Error(`plain map threw on ${m.value.id}`);
          return m;
        }),
        mapValue((item: Item) => {
          const f = s.faults[item.id]!;
          if (f.kind === 'transient' && failing('transient', item.id, f.times))
            throw new Error(`transient ${item.id}`);
          if (f.kind === 'permanent')
            throw Object.assign(new Error(`permanent ${item.id}`), { retriable: false });
          return item;
        }),
        batched,
      ),
      {
        maxInFlight: s.maxInFlight,
        commitIntervalMs: 1,
        stallTimeoutMs: 0,
        errors: { retries: 2, backoff: { initialDelayMs: 1, maxDelayMs: 4 } },
        restarts: { max: 10_000, withinMs: 1000 },
      },
    );
    live.add(app);
    return { app, items, violations: audited.violations };
  };
  const stopped = (app: App): boolean => app.failure !== undefined;
  const workers: ReturnType<typeof worker>[] = [];
  try {
    const first = worker(s.deadLetter);
    workers.push(first);
    await first.app.start();
    await first.items.sendMany(
      Array.from({ length: s.count }, (_, id) => ({ key: `k${id}`, value: { id } })),
    );

    if (s.joinAfter !== undefined && s.joinAfter < s.count) {
      await waitFor(() => progress() >= s.joinAfter! || stopped(first.app), {
        timeoutMs: left(),
        description: `${s.joinAfter} records written or dead-lettered before a second worker joins`,
      });
      const joiner = worker(s.deadLetter);
      workers.push(joiner);
      await joiner.app.start(); // the group rebalances: partitions are revoked from the first worker mid-flight
      await new Promise((resolve) => setTimeout(resolve, 3));
      await joiner.app.stop(); // and again when it leaves
      live.delete(joiner.app);
    }
    if (s.stopAfter !== undefined && s.stopAfter < s.count) {
      await waitFor(() => progress() >= s.stopAfter! || stopped(first.app), {
        timeoutMs: left(),
        description: `${s.stopAfter} records written or dead-lettered before the first worker stops`,
      });
    } else {
      await waitFor(() => progress() >= s.count || stopped(first.app), {
        timeoutMs: left(),
        description: 'every record written or dead-lettered by the first worker',
      });
    }
    await first.app.stop();
    live.delete(first.app);

    // A restart on the same broker, with a working dead-letter topic, drains everything.
    const last = worker('ok');
    workers.push(last);
    await last.app.start();
    await waitFor(
      () =>
        broker
          .endOffsets('items')
          .every(
            (e) =>
              e.offset === 0 ||
              broker
                .committedOffsets('chaos.agent', 'items')
                .some((c) => c.partition === e.partition && c.offset === e.offset),
          ),
      { timeoutMs: left(), description: 'the restarted worker commits to the end' },
    );
    await last.app.stop();
    live.delete(last.app);
  } finally {
    clearInterval(sampler);
    await Promise.all(workers.map((w) => w.app.stop()));
  }

  expect(workers.flatMap((w) => w.violations)).to.deep.equal([]);
  expect(violations.slice(0, 5)).to.deep.equal([]);
  const dead = deadLettered(broker, 'items.dlq');
  const lost = [];
  for (const { partition, offset } of broker.endOffsets('items'))
    for (let o = 0; o < offset; o++)
      if (!written.has('items', partition, o) && !dead.has('items', partition, o))
        lost.push(`${partition}/${o}`);
  expect(lost).to.deep.equal([]);
}
