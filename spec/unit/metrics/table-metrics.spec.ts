import { expect } from 'chai';
import { Registry } from 'prom-client';
import {
  type App,
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  updateTable,
  type Table,
  type TableStore,
} from '../../../lib/index.js';
import { appMetrics } from '../../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { partitionForKey } from '../../../lib/transports/partitioner.js';
import { GatedTableStore } from '../../support/gated-table-store.js';

/** The value of a sample line `name{labels} value` in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string | number>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const prefix = `${name}{${rendered}} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

interface Order {
  readonly user: string;
  readonly qty: number;
}

function shop(
  broker: MemoryBroker,
  store?: () => TableStore,
): { app: App; totals: Table<string, number, number> } {
  const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 3 });
  const totals = app.table<number>('totals', { default: () => 0, ...(store ? { store } : {}) });
  app.agent('total', orders, (order$) => order$.pipe(updateTable(totals, (sum, m) => sum + m.value.qty)), {
    commitIntervalMs: 1,
    stallTimeoutMs: 0,
  });
  return { app, totals };
}

describe('table metrics', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('reports keys per owned partition as table.stats() counts them, and no pending write once settled', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const made = shop(broker);
    app = made.app;
    const metrics = appMetrics(app, { registry: new Registry() });
    await app.start();
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    broker.produce(
      users.map((user) => ({
        topic: 'orders',
        key: Buffer.from(user),
        value: Buffer.from(`{"user":"${user}","qty":1}`),
      })),
    );
    await waitForCommitted(app);

    const text = await metrics.metrics();
    const stats = made.totals.stats();
    expect(stats.partitions).to.have.length(3);
    for (const p of stats.partitions) {
      const expected = users.filter((u) => partitionForKey(Buffer.from(u), 3) === p.partition).length;
      expect(p.keys).to.equal(expected);
      expect(sample(text, 'rivulet_table_keys', { table: 'totals', partition: p.partition })).to.equal(
        expected,
      );
      expect(sample(text, 'rivulet_table_recovering', { table: 'totals', partition: p.partition })).to.equal(
        0,
      );
      expect(
        sample(text, 'rivulet_table_restore_remaining', { table: 'totals', partition: p.partition }),
      ).to.equal(0);
    }
    expect(sample(text, 'rivulet_table_pending_writes', { table: 'totals' })).to.equal(0);
    expect(sample(text, 'rivulet_table_changelog_write_failures_total', { table: 'totals' })).to.equal(0);
    metrics.close();
    expect(await metrics.registry.metrics()).to.not.include('rivulet_table_');
  });

  it('reports a partition recovering with the records left to replay, and ready once replayed', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const partition = partitionForKey(Buffer.from('ada'), 3);
    broker.produce(
      [1, 2, 3].map((n) => ({
        topic: 'shop-totals-changelog',
        partition,
        key: Buffer.from('ada'),
        value: Buffer.from(String(n)),
      })),
    );
    const store = new GatedTableStore();
    const made = shop(broker, () => store);
    app = made.app;
    const metrics = appMetrics(app, { registry: new Registry() });
    await app.start();
    await waitFor(() =>
      made.totals.stats().partitions.some((p) => p.partition === partition && p.toRead === 3),
    );

    const labels = { table: 'totals', partition };
    const during = await metrics.metrics();
    expect(sample(during, 'rivulet_table_recovering', labels)).to.equal(1);
    expect(sample(during, 'rivulet_table_restore_remaining', labels)).to.equal(3);
    expect(sample(during, 'rivulet_table_changelog_lag', labels)).to.equal(3);

    store.release();
    await waitFor(() => made.totals.stats().state === 'ready');
    const after = await metrics.metrics();
    expect(sample(after, 'rivulet_table_recovering', labels)).to.equal(0);
    expect(sample(after, 'rivulet_table_restore_remaining', labels)).to.equal(0);
    expect(sample(after, 'rivulet_table_changelog_lag', labels)).to.equal(0);
    expect(sample(after, 'rivulet_table_keys', labels)).to.equal(1);
    expect(made.totals.get('ada')).to.equal(3);
    metrics.close();
  });

  it('registers nothing for an app without tables', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    app = createApp({ id: 'bare', transport: new MemoryTransport(broker), logger: silentLogger });
    const metrics = appMetrics(app, { registry: new Registry() });
    expect(await metrics.metrics()).to.not.match(/^rivulet_table_\w+\{/m);
    metrics.close();
  });
});
