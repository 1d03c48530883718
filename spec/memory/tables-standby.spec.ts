import { expect } from 'chai';
import {
  MemoryBroker,
  MemoryTransport,
  aggregateWindows,
  count,
  createApp,
  tumbling,
  json,
  silentLogger,
  updateTable,
  type ProducerRecord,
} from '../../lib/index.js';
import { Registry } from 'prom-client';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

const CHANGELOG = 'shop-totals-changelog';

function worker(broker: MemoryBroker, standbys: number, standbyPollMs: number) {
  const transport = new MemoryTransport(broker, { batchSize: 50 });
  const app = createApp({ id: 'shop', transport, logger: silentLogger });
  const orders = app.topic<{ qty: number }>('orders', { value: json(), partitions: 2 });
  const totals = app.table<number>('totals', { default: () => 0, standbys, standbyPollMs });
  app.agent('total', orders, (order$) => order$.pipe(updateTable(totals, (sum, m) => sum + m.value.qty)), {
    commitIntervalMs: 1,
    stallTimeoutMs: 0,
  });
  return { app, totals, transport };
}

function send(broker: MemoryBroker, from: number, to: number, expected: Map<string, number>): void {
  const records: ProducerRecord[] = [];
  for (let i = from; i < to; i++) {
    const key = `u${i % 40}`;
    expected.set(key, (expected.get(key) ?? 0) + i);
    records.push({ topic: 'orders', key: Buffer.from(key), value: Buffer.from(JSON.stringify({ qty: i })) });
  }
  broker.produce(records);
}

const changelogEnd = (broker: MemoryBroker, partition: number): number =>
  broker.endOffsets(CHANGELOG).find((e) => e.partition === partition)!.offset;

/**
 * A takes both partitions, then B joins and takes one of them (A keeps a standby copy of it, up to date
 * as A lets it go); B applies a second batch; B crashes and A takes its partition over. The standby
 * polls once a minute, so it has not read B's changes: the takeover must read exactly those.
 */
async function takeover(standbys: number) {
  const broker = new MemoryBroker();
  const expected = new Map<string, number>();
  const a = worker(broker, standbys, 60_000);
  await a.app.start();
  send(broker, 0, 300, expected);
  await waitForCommitted(a.app);
  const b = worker(broker, standbys, 60_000);
  await b.app.start();
  await waitFor(() => b.totals.stats().state === 'ready' && b.totals.ownedPartitions().length === 1);
  const moved = b.totals.ownedPartitions()[0]!;
  const before = changelogEnd(broker, moved);
  send(broker, 300, 600, expected);
  await waitForCommitted(b.app);
  await waitForCommitted(a.app);
  const after = changelogEnd(broker, moved);
  const standbysBefore = a.totals.stats().standbys;
  await b.transport.crash(); // kill -9: A takes the partition over
  await waitFor(() => a.totals.ownedPartitions().length === 2 && a.totals.stats().state === 'ready');
  const restored = a.totals.stats().partitions.find((p) => p.partition === moved)!;
  const actual = new Map<string, number>();
  for (const partition of a.totals.ownedPartitions())
    for (const key of a.totals.keys(partition, { limit: 1000 }).keys) actual.set(key, a.totals.get(key));
  await Promise.all([a.app.stop(), b.app.stop()]);
  return { moved, before, after, restored, standbysBefore, actual, expected };
}

describe('standby replicas of tables (memory broker)', () => {
  it('a takeover with a standby replays only the changelog tail the copy had not read, and the table is exact', async () => {
    const r = await takeover(1);
    expect(r.after - r.before).to.be.greaterThan(0);
    expect(r.before).to.be.greaterThan(0);
    // A's copy of B's partition stood at the changelog offset where A let it go.
    expect(r.standbysBefore).to.deep.include({
      partition: r.moved,
      position: r.before,
      keys: r.standbysBefore!.find((s) => s.partition === r.moved)!.keys,
      lag: 0, // as of its last round, before B wrote anything
      resets: 0,
    });
    expect(r.restored.read).to.equal(r.after - r.before); // the tail only
    expect(r.restored.toRead).to.equal(r.after - r.before);
    expect(Object.fromEntries([...r.actual].sort())).to.deep.equal(
      Object.fromEntries([...r.expected].sort()),
    );
  });

  it('without standbys the same takeover replays the whole changelog of the partition', async () => {
    const r = await takeover(0);
    expect(r.standbysBefore).to.deep.equal([]);
    expect(r.restored.read).to.equal(r.after);
    expect(Object.fromEntries([...r.actual].sort())).to.deep.equal(
      Object.fromEntries([...r.expected].sort()),
    );
  });

  it('a standby tails the changelog of a partition owned elsewhere and shows in stats() and /metrics', async () => {
    const broker = new MemoryBroker();
    const expected = new Map<string, number>();
    const a = worker(broker, 1, 2);
    const b = worker(broker, 1, 2);
    try {
      await a.app.start();
      await b.app.start();
      await waitFor(() => a.totals.ownedPartitions().length === 1 && b.totals.ownedPartitions().length === 1);
      send(broker, 0, 400, expected);
      await waitForCommitted(a.app);
      await waitForCommitted(b.app);
      for (const w of [a, b]) {
        const [other] = [0, 1].filter((p) => !w.totals.ownedPartitions().includes(p));
        const end = changelogEnd(broker, other!);
        await waitFor(() => w.totals.stats().standbys?.[0]?.position === end);
        const [standby] = w.totals.stats().standbys!;
        const owner = w === a ? b : a;
        expect(standby).to.deep.equal({
          partition: other,
          keys: owner.totals.stats().partitions[0]!.keys,
          position: end,
          lag: 0,
          resets: 0,
        });
        const text = await appMetrics(w.app, { registry: new Registry() }).metrics();
        expect(text).to.include(
          `rivulet_table_standby_keys{table="totals",partition="${other}"} ${standby!.keys}\n`,
        );
        expect(text).to.include(`rivulet_table_standby_lag{table="totals",partition="${other}"} 0\n`);
        expect(text).not.to.include(`rivulet_table_standby_keys{table="totals",partition="${1 - other!}"}`);
      }
    } finally {
      await Promise.all([a.app.stop(), b.app.stop()]);
    }
  });

  it('a windowed table keeps standbys too: a takeover replays only the tail and serves the same windows', async () => {
    const broker = new MemoryBroker();
    const volume = () => {
      const transport = new MemoryTransport(broker);
      const app = createApp({ id: 'volume', transport, logger: silentLogger });
      const orders = app.topic<{ at: number }>('orders', { value: json(), partitions: 2 });
      const perMinute = app.windowTable<{ at: number }, number>('per-minute', {
        window: tumbling(60_000),
        aggregate: count(),
        idleAfterMs: 60_000,
        standbys: 1,
        standbyPollMs: 2,
      });
      app.agent(
        'volume',
        orders,
        (order$) => order$.pipe(aggregateWindows(perMinute, { time: (m) => m.value.at })),
        {
          commitIntervalMs: 1,
          stallTimeoutMs: 0,
        },
      );
      return { app, transport, perMinute };
    };
    const a = volume();
    const b = volume();
    try {
      await a.app.start();
      await b.app.start();
      await waitFor(
        () =>
          a.perMinute.table.ownedPartitions().length === 1 &&
          b.perMinute.table.ownedPartitions().length === 1,
      );
      const at = Date.now();
      const symbols = Array.from({ length: 12 }, (_, i) => `s${i}`);
      broker.produce(
        symbols.flatMap((symbol, i) =>
          Array.from({ length: i + 1 }, () => ({
            topic: 'orders',
            key: Buffer.from(symbol),
            value: Buffer.from(JSON.stringify({ at })),
          })),
        ),
      );
      await waitForCommitted(a.app);
      await waitForCommitted(b.app);
      const moved = b.perMinute.table.ownedPartitions()[0]!;
      const end = broker.endOffsets('volume-per-minute-changelog').find((e) => e.partition === moved)!.offset;
      await waitFor(() => a.perMinute.table.stats().standbys?.[0]?.position === end);
      await b.transport.crash();
      await waitFor(
        () => a.perMinute.table.ownedPartitions().length === 2 && a.perMinute.table.stats().state === 'ready',
      );
      expect(a.perMinute.table.stats().partitions.find((p) => p.partition === moved)!.read).to.equal(0);
      for (const [i, symbol] of symbols.entries())
        expect(a.perMinute.get(symbol).map((w) => w.value)).to.deep.equal([i + 1]);
    } finally {
      await Promise.all([a.app.stop(), b.app.stop()]);
    }
  });
});
