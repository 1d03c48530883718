import { expect } from 'chai';
import { tap } from 'rxjs';
import {
  DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  aggregateWindows,
  count,
  createApp,
  json,
  silentLogger,
  tumbling,
  type WindowResult,
} from '../../lib/index.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

interface Order {
  readonly symbol: string;
  readonly at: number;
}

/** The value of a sample line `name{labels} value` in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string | number>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${rendered}} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

function orderVolume(broker: MemoryBroker, results: WindowResult<string, number>[]) {
  const app = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 2 });
  const perSecond = app.windowTable<Order, number>('per-second', {
    window: tumbling(1000),
    aggregate: count(),
    idleAfterMs: 100,
  });
  app.agent(
    'volume',
    orders,
    (order$) =>
      order$.pipe(
        aggregateWindows(perSecond, { time: (m) => m.value.at }),
        tap((m) => results.push(m.value)),
      ),
    { errors: { retries: 0 } },
  );
  return { app, orders, perSecond };
}

describe('windows on memory:// (an agent)', () => {
  it('closes every window when the partitions go idle, with exact counts; a late record is dead-lettered; metrics show it', async () => {
    const broker = new MemoryBroker();
    const results: WindowResult<string, number>[] = [];
    const { app, orders, perSecond } = orderVolume(broker, results);
    const metrics = appMetrics(app);
    await app.start();
    const base = Math.floor(Date.now() / 1000) * 1000 - 10_000; // seconds ago: live data
    const expected = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const symbol = ['ACME', 'INIT', 'TECH'][i % 3]!;
      const at = base + Math.floor(i / 43) * 1000 + (i % 13); // in order: 7 seconds
      const id = `${symbol}@${Math.floor(at / 1000) * 1000}`;
      expected.set(id, (expected.get(id) ?? 0) + 1);
      await orders.send({ symbol, at }, { key: symbol });
    }
    await waitFor(() => results.length >= expected.size, { timeoutMs: 10_000 });
    await waitForCommitted(app);
    const got = new Map(results.map((r) => [`${r.key}@${r.start}`, r.value]));
    expect(got).to.deep.equal(expected);
    expect(results.every((r) => r.final && r.end === r.start + 1000)).to.equal(true);
    // The windows' state is gone once their results settled.
    await waitFor(() => perSecond.stats().pending === 0 && perSecond.get('ACME').length === 0, {
      timeoutMs: 5000,
    });

    await orders.send({ symbol: 'ACME', at: base }, { key: 'ACME' }); // its window closed long ago
    await waitForCommitted(app);
    const partition = perSecond.table.partitionOf('ACME')!;
    const dead = broker.read('orders.dlq', 0, 0, 10);
    expect(dead).to.have.length(1);
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.errorName]).to.equal('LateRecordError');
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.partition]).to.equal(String(partition));
    expect(results).to.have.length(expected.size); // no window reopened
    const text = await metrics.metrics();
    expect(
      sample(text, 'rivulet_window_late_records_total', { table: 'per-second', outcome: 'dead_lettered' }),
    ).to.equal(1);
    expect(
      sample(text, 'rivulet_window_results_total', { table: 'per-second', outcome: 'settled' }),
    ).to.equal(expected.size);
    expect(sample(text, 'rivulet_window_results_pending', { table: 'per-second' })).to.equal(0);
    expect(
      sample(text, 'rivulet_window_watermark_seconds', { table: 'per-second', partition }),
    ).to.be.greaterThan(base / 1000 + 6);
    metrics.close();
    await app.stop();
  });

  it('a worker stopped with windows open closes them after a restart, from the changelog alone', async () => {
    const broker = new MemoryBroker();
    const first: WindowResult<string, number>[] = [];
    const one = orderVolume(broker, first);
    await one.app.start();
    const start = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // an hour ahead: no idle close yet
    for (let i = 0; i < 20; i++) await one.orders.send({ symbol: 'ACME', at: start + i }, { key: 'ACME' });
    await waitForCommitted(one.app);
    expect(first).to.deep.equal([]);
    expect(one.perSecond.get('ACME')).to.deep.equal([{ start, end: start + 1000, value: 20 }]);
    await one.app.stop();

    const second: WindowResult<string, number>[] = [];
    const two = orderVolume(broker, second);
    await two.app.start();
    // Nothing is redelivered (all committed): the window comes back from the changelog, and the next
    // record, a second later in event time, closes it.
    await two.orders.send({ symbol: 'ACME', at: start + 1000 }, { key: 'ACME' });
    await waitFor(() => second.length === 1, { timeoutMs: 10_000 });
    expect(second[0]).to.deep.include({ key: 'ACME', start, end: start + 1000, value: 20, final: true });
    await two.app.stop();
  });
});
