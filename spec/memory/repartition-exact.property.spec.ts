import { expect } from 'chai';
import fc from 'fast-check';
import {
  type App,
  MemoryBroker,
  type ProducerRecord,
  type RecordMetadata,
  type Table,
  type WindowTable,
  aggregateWindows,
  collect,
  createApp,
  defaultLogger,
  json,
  partitionForKey,
  repartition,
  silentLogger,
  sink,
  string,
  tumbling,
  updateTable,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { ChaosTransport } from '../support/chaos-transport.js';

interface Order {
  readonly id: number;
  readonly symbol: string;
  readonly amount: number;
}
interface Total {
  readonly count: number;
  readonly sum: number;
}

const INTERNAL = 'shop-by-symbol-repartition';
/** An order's event time: its id in ms after this (the windows are drawn a few ms to 100 ms long). */
const BASE_TIME = 1_000_000;
/** More than the event times of all orders span: no copy, however late it is made again, is late. */
const GRACE_MS = 100_000;
/** Far ahead of every order: a flush record per partition closes every window of the orders. */
const FLUSH_TIME = 2_000_000_000;
const debug = Boolean(process.env.DEBUG_REHOP);

/**
 * A worker's link that makes the copy agent's crashes count: a copy's produce takes a little while, and
 * a worker killed meanwhile has its copies reach the broker without hearing back (they are copied
 * again by the next owner, as after a SIGKILL between the broker's ack and the commit).
 */
class HopTransport extends ChaosTransport {
  constructor(
    broker: MemoryBroker,
    batchSize: number,
    private readonly hopDelayMs: number,
  ) {
    super(broker, { batchSize, delayMs: 1, refusals: 0 });
  }

  override async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.hopDelayMs === 0 || records[0]?.topic !== INTERNAL) return super.produce(records);
    if (this.dead) throw new Error('the process is dead');
    const written = await super.produce(records);
    await new Promise((resolve) => setTimeout(resolve, this.hopDelayMs));
    if (this.dead) throw new Error('the process died before the ack arrived');
    return written;
  }
}

type Role = 'copy' | 'count';
interface Worker {
  readonly role: Role;
  readonly app: App;
  readonly transport: HopTransport;
  readonly totals: Table<string, Total, Total> | undefined;
  readonly windows: WindowTable<string, Order, number[]> | undefined;
  readonly shutdownTimeoutMs: { value: number };
}

const role = fc.constantFrom<Role>('copy', 'count');
const step = fc.oneof(
  fc.record({ kind: fc.constant('produce' as const), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('start' as const), role, slot: fc.integer({ min: 0, max: 1 }) }),
  fc.record({
    kind: fc.constant('kill' as const),
    role,
    slot: fc.integer({ min: 0, max: 1 }),
    afterMs: fc.integer({ min: 0, max: 8 }),
  }),
  fc.record({
    kind: fc.constant('stop' as const),
    role,
    slot: fc.integer({ min: 0, max: 1 }),
    timeoutMs: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 15 }) }),
);

const TOTAL = 200;
const SYMBOLS = ['ACME', 'BOLT', 'CRUX', 'DYNE', 'EPIC', 'FLUX'];
const scenario = fc.record({
  sourcePartitions: fc.integer({ min: 1, max: 3 }),
  internalPartitions: fc.integer({ min: 1, max: 3 }),
  windowMs: fc.integer({ min: 5, max: 100 }),
  symbols: fc.integer({ min: 1, max: SYMBOLS.length }),
  batchSize: fc.integer({ min: 1, max: 20 }),
  hopDelayMs: fc.integer({ min: 1, max: 5 }),
  /** Records whose table update throws once (retried later, after records behind it). */
  failUpdate: fc.array(fc.boolean(), { minLength: TOTAL, maxLength: TOTAL }),
  /** Records whose copy (the key function) throws once (copied again later, after records behind it). */
  failCopy: fc.array(fc.boolean(), { minLength: TOTAL, maxLength: TOTAL }),
  amounts: fc.array(fc.integer({ min: -5, max: 10 }), { minLength: TOTAL, maxLength: TOTAL }),
  steps: fc.array(step, { minLength: 1, maxLength: 16 }),
});

const agentOptions = {
  commitIntervalMs: 1,
  stallTimeoutMs: 0,
  errors: { retries: 5, backoff: { initialDelayMs: 1, maxDelayMs: 2 } },
};

/** A key of each partition of the internal topic, for the flush records. */
function flushKeys(partitions: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.filter(Boolean).length < partitions; i++)
    keys[partitionForKey(Buffer.from(`flush-${i}`), partitions)] ??= `flush-${i}`;
  return keys;
}

describe('repartition, exact across the hop, property-based (memory broker)', () => {
  // RUNS, SEED, FC_PATH and DEBUG_REHOP help reproduce a failure.
  it('after random crashes, stops and rebalances of the copy agent and of the agents behind the hop, a table and a windowed table behind the hop equal the fold of the input exactly', async () => {
    let runsWithSecondCopies = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const broker = new MemoryBroker({ defaultPartitions: s.internalPartitions });
        const failedUpdates = new Set<number>();
        const failedCopies = new Set<number>();
        const expected = new Map<string, Total>();
        /** Ids per `symbol|window start`, sorted. */
        const expectedWindows = new Map<string, number[]>();
        const finals: { key: string; start: number; value: number[] }[] = [];
        const slots: Record<Role, (Worker | undefined)[]> = { copy: [], count: [] };
        const all: Worker[] = [];
        let produced = 0;

        const startWorker = async (kind: Role): Promise<Worker> => {
          const transport = new HopTransport(broker, s.batchSize, s.hopDelayMs);
          const shutdownTimeoutMs = { value: 2000 };
          const app = createApp({
            id: 'shop',
            transport,
            logger: debug ? defaultLogger(kind) : silentLogger,
            get shutdownTimeoutMs() {
              return shutdownTimeoutMs.value;
            },
          });
          let totals: Table<string, Total, Total> | undefined;
          let windows: WindowTable<string, Order, number[]> | undefined;
          if (kind === 'copy') {
            const orders = app.topic<Order>('orders', { value: json(), partitions: s.sourcePartitions });
            repartition(
              app,
              'by-symbol',
              orders,
              (m) => {
                const { id, symbol } = m.value;
                if (s.failCopy[id] && !failedCopies.has(id)) {
                  failedCopies.add(id);
                  throw new Error(`copy ${id} fails once (injected)`);
                }
                return symbol;
              },
              { partitions: s.internalPartitions, agent: agentOptions },
            );
          } else {
            const bySymbol = app.topic<Order, string>(INTERNAL, { value: json(), key: string() });
            totals = app.table<Total>('totals', { default: () => ({ count: 0, sum: 0 }) });
            const table = totals;
            app.agent(
              'total',
              bySymbol,
              (order$) =>
                order$.pipe(
                  updateTable(table, (total, message) => {
                    const { id, amount } = message.value;
                    if (s.failUpdate[id] && !failedUpdates.has(id)) {
                      failedUpdates.add(id);
                      throw new Error(`update ${id} fails once (injected)`);
                    }
                    return { count: total.count + 1, sum: total.sum + amount };
                  }),
                ),
              agentOptions,
            );
            // the same records, by symbol and event time (the ids: a copy counted twice shows)
            windows = app.windowTable<Order, number[]>('minutes', {
              window: tumbling(s.windowMs),
              aggregate: collect((order: Order) => order.id),
              graceMs: GRACE_MS,
              idleAfterMs: 3_600_000, // closed by the flush records only
            });
            const minutes = windows;
            app.agent(
              'window',
              bySymbol,
              (order$) =>
                order$.pipe(
                  aggregateWindows(minutes, { time: (m) => BASE_TIME + m.value.id }),
                  sink(
                    (batch) => {
                      if (transport.dead) throw new Error('the process is dead');
                      for (const { value } of batch) finals.push(value);
                      return Promise.resolve();
                    },
                    { name: 'finals' },
                  ),
                ),
              agentOptions,
            );
          }
          await app.start();
          const worker = { role: kind, app, transport, totals, windows, shutdownTimeoutMs };
          all.push(worker);
          return worker;
        };

        const produce = (count: number): void => {
          const records: ProducerRecord[] = [];
          for (let i = 0; i < count && produced < TOTAL; i++, produced++) {
            const symbol = SYMBOLS[(produced * 7) % s.symbols]!;
            const amount = s.amounts[produced]!;
            const total = expected.get(symbol) ?? { count: 0, sum: 0 };
            expected.set(symbol, { count: total.count + 1, sum: total.sum + amount });
            const window = `${symbol}|${BASE_TIME + produced - ((BASE_TIME + produced) % s.windowMs)}`;
            expectedWindows.set(window, [...(expectedWindows.get(window) ?? []), produced]);
            records.push({
              topic: 'orders',
              key: Buffer.from(`u${produced % 5}`),
              value: Buffer.from(JSON.stringify({ id: produced, symbol, amount })),
            });
          }
          broker.produce(records);
        };

        try {
          broker.createTopic('orders', s.sourcePartitions);
          broker.createTopic(INTERNAL, s.internalPartitions);
          slots.copy[0] = await startWorker('copy');
          slots.count[0] = await startWorker('count');
          for (const action of s.steps) {
            if (debug) console.error(action);
            if (action.kind === 'produce') produce(action.count);
            else if (action.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, action.ms));
            else if (action.kind === 'start')
              slots[action.role][action.slot] ??= await startWorker(action.role);
            else {
              const worker = slots[action.role][action.slot];
              slots[action.role][action.slot] = undefined;
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
          for (const kind of ['copy', 'count'] as const)
            if (!slots[kind].some(Boolean)) slots[kind][0] = await startWorker(kind);
          produce(5);
          const copiers = slots.copy.filter((worker) => worker !== undefined);
          const counters = slots.count.filter((worker) => worker !== undefined);
          await waitForCommitted(copiers[0]!.app, { timeoutMs: 10_000 });
          await waitForCommitted(counters[0]!.app, { timeoutMs: 10_000 });
          await waitFor(() => counters.every((w) => w.totals!.stats().state === 'ready'), {
            timeoutMs: 5000,
          });
          const actual = new Map<string, Total>();
          for (const { totals } of counters)
            for (const partition of totals!.ownedPartitions())
              for (const key of totals!.keys(partition, { limit: 1000 }).keys)
                actual.set(key, totals!.get(key));
          const copies = Array.from({ length: broker.partitions(INTERNAL) }, (_, partition) =>
            broker.endOffset(INTERNAL, partition),
          ).reduce((sum, end) => sum + end, 0);
          if (copies > produced) runsWithSecondCopies++;
          expect(Object.fromEntries([...actual].sort())).to.deep.equal(
            Object.fromEntries([...expected].sort()),
          );

          // a record far ahead on each partition of the internal topic closes every window of the orders
          const flushes = flushKeys(broker.partitions(INTERNAL)).map((key) => ({
            topic: INTERNAL,
            key: Buffer.from(key),
            value: Buffer.from(JSON.stringify({ id: FLUSH_TIME - BASE_TIME, symbol: key, amount: 0 })),
          }));
          broker.produce(flushes);
          const windowOf = ({ key, start }: { key: string; start: number }) => `${key}|${start}`;
          await waitFor(() => expectedWindows.size <= new Set(finals.map(windowOf)).size, {
            timeoutMs: 10_000,
            description: 'every window of the orders closed',
          });
          // each window's result (written again after a crash, always the same) holds its orders once
          const windowed = new Map(
            finals.map((final) => [windowOf(final), [...final.value].sort((a, b) => a - b)]),
          );
          for (const final of finals)
            expect(
              [...final.value].sort((a, b) => a - b),
              windowOf(final),
            ).to.deep.equal(windowed.get(windowOf(final)));
          expect(Object.fromEntries([...windowed].sort())).to.deep.equal(
            Object.fromEntries([...expectedWindows].sort()),
          );
        } finally {
          await Promise.all(all.map((worker) => worker.app.stop()));
        }
      }),
      {
        numRuns: Number(process.env.RUNS ?? 60),
        endOnFailure: debug,
        ...(process.env.SEED ? { seed: Number(process.env.SEED), path: process.env.FC_PATH } : {}),
      },
    );
    if (!process.env.SEED)
      expect(
        runsWithSecondCopies,
        'some runs copied records twice (what the table must not count)',
      ).to.be.greaterThan(0);
  });
});
