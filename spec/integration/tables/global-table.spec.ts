import { expect } from 'chai';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { tap } from 'rxjs';
import { type App, type GlobalTable, createApp, joinTable, json, silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { partitionForKey } from '../../../lib/transports/partitioner.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

interface Customer {
  readonly name: string;
  readonly version: number;
}

/** A worker of the app: its own Kafka client, the global table `name` (3 partitions). */
function worker(appId: string, name: string) {
  const transport = new KafkaTransport({
    brokers: services.kafkaBrokers,
    clientId: appId,
    logger: silentLogger,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
  });
  const app = createApp({ id: appId, transport, logger: silentLogger });
  const customers = app.globalTable<Customer>(name, { value: json(), partitions: 3, lagRefreshMs: 200 });
  return { app, customers };
}

/** Sends versions 1 to 3 of customers `c0`…`c<count − 1>`, then a tombstone for every `deleteEvery`th: the rows expected. */
async function writeVersions(
  customers: GlobalTable<string, Customer>,
  count: number,
  deleteEvery: number,
): Promise<Map<string, Customer>> {
  const expected = new Map<string, Customer>();
  for (let version = 1; version <= 3; version++) {
    const records = Array.from({ length: count }, (_, i) => ({
      key: `c${i}`,
      value: { name: `customer ${i}`, version },
    }));
    await customers.topic.sendMany(records);
    for (const { key, value } of records) expected.set(key, value);
  }
  for (let i = 0; i < count; i += deleteEvery) {
    await customers.delete(`c${i}`);
    expected.delete(`c${i}`);
  }
  return expected;
}

describe('kafka: a global table', function () {
  this.timeout(120_000);
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  it('is restored whole on a fresh worker, then follows its compacted topic (a send shows, a tombstone deletes)', async () => {
    const appId = uniqueName('global');
    const name = `${appId}-customers`;
    const writer = worker(appId, name);
    apps.push(writer.app);
    // 3 versions of 300 keys, then tombstones for 30 of them
    const expected = await writeVersions(writer.customers, 300, 10);

    const fresh = worker(appId, name);
    apps.push(fresh.app);
    const started = Date.now();
    await fresh.app.start();
    const restoreMs = Date.now() - started;
    console.log(`      restored ${fresh.customers.size} keys (930 records) in ${restoreMs} ms`);
    expect(fresh.customers.size).to.equal(expected.size);
    for (const [key, value] of expected) expect(fresh.customers.get(key)).to.deep.equal(value);
    for (let i = 0; i < 300; i += 10) expect(fresh.customers.has(`c${i}`)).to.equal(false);
    const stats = fresh.customers.stats();
    expect(stats).to.include({ state: 'ready', partitionCount: 3 });
    expect(stats.partitions.reduce((sum, p) => sum + p.position, 0)).to.equal(930);

    // the topic was created compacted
    const admin = new Kafka({ brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] }],
      });
      expect(resources[0]!.configEntries.map((e) => e.configValue)).to.deep.equal(['compact']);
    } finally {
      await admin.disconnect();
    }

    // after start, the fresh worker follows the topic
    await writer.customers.topic.send({ name: 'new', version: 1 }, { key: 'late' });
    await writer.customers.delete('c1');
    await waitFor(() => fresh.customers.has('late') && !fresh.customers.has('c1'), {
      timeoutMs: 60_000,
      description: 'the fresh worker to see a send and a tombstone made after its start',
    });
    expect(fresh.customers.get('late')).to.deep.equal({ name: 'new', version: 1 });
    await waitFor(() => fresh.customers.stats().partitions.every((p) => p.lag === 0 && p.end > 0), {
      timeoutMs: 10_000,
      description: 'no lag once the end offsets were refreshed',
    });
  });

  it('a worker started after the data was written restores every partition before its agent reads: each order, already waiting, meets the last version of its customer, with no failed attempt', async () => {
    const appId = uniqueName('global-fresh');
    const name = `${appId}-customers`;
    const writer = worker(appId, name);
    apps.push(writer.app);
    const ordersTopic = `${appId}-orders`;
    const orders = writer.app.topic<{ customer: string }>(ordersTopic, { value: json(), partitions: 3 });
    // 3 versions of 2000 keys (the last one wins), then tombstones for every 50th
    const expected = await writeVersions(writer.customers, 2000, 50);
    // orders for every 10th customer (a deleted one every 5th order): rows of each partition
    const customersOfOrders = Array.from({ length: 200 }, (_, i) => `c${i * 10}`);
    expect(new Set(customersOfOrders.map((c) => partitionForKey(Buffer.from(c), 3)))).to.have.lengthOf(3);
    await orders.sendMany(customersOfOrders.map((customer, i) => ({ key: `o${i}`, value: { customer } })));

    const fresh = worker(appId, name);
    apps.push(fresh.app);
    const enriched: string[] = [];
    const sizes = new Set<number>();
    const agent = fresh.app.agent(
      'enrich',
      fresh.app.topic<{ customer: string }>(ordersTopic, { value: json() }),
      (order$) =>
        order$.pipe(
          joinTable(
            fresh.customers,
            (order, customer) => {
              sizes.add(fresh.customers.size);
              return `${order.customer}:${customer.version}`;
            },
            { key: (m) => m.value.customer },
          ),
          tap((m) => enriched.push(m.value)),
        ),
      { commitIntervalMs: 20 },
    );
    await fresh.app.start();
    await waitFor(() => agent.stats().settled === customersOfOrders.length, {
      timeoutMs: 60_000,
      description: 'every order settled',
    });
    expect([...enriched].sort()).to.deep.equal(
      customersOfOrders
        .filter((c) => expected.has(c))
        .map((c) => `${c}:3`)
        .sort(),
    );
    // the whole table was there from the first record on, and no record failed on a table not ready
    expect([...sizes]).to.deep.equal([expected.size]);
    expect(agent.stats()).to.include({ retried: 0, deadLettered: 0 });
  });

  it('an agent joins orders with it from its first record, and sees a row sent after start', async () => {
    const appId = uniqueName('global-join');
    const name = `${appId}-customers`;
    const { app, customers } = worker(appId, name);
    apps.push(app);
    const orders = app.topic<{ customer: string; qty: number }>(`${appId}-orders`, {
      value: json(),
      partitions: 2,
    });
    await customers.topic.sendMany([
      { key: 'c1', value: { name: 'Ada', version: 1 } },
      { key: 'c2', value: { name: 'Bob', version: 1 } },
    ]);
    await orders.sendMany([
      { key: 'o1', value: { customer: 'c1', qty: 1 } },
      { key: 'o2', value: { customer: 'c2', qty: 2 } },
      { key: 'o3', value: { customer: 'nobody', qty: 3 } }, // inner: settled, not emitted
    ]);
    const enriched: string[] = [];
    app.agent(
      'enrich',
      orders,
      (order$) =>
        order$.pipe(
          joinTable(customers, (order, customer) => `${order.qty}:${customer.name}`, {
            key: (m) => m.value.customer,
          }),
          tap((m) => enriched.push(m.value)),
        ),
      { commitIntervalMs: 20 },
    );
    await app.start();
    await waitFor(() => enriched.length === 2, { timeoutMs: 60_000, description: 'o1 and o2 enriched' });
    await customers.topic.send({ name: 'Cy', version: 1 }, { key: 'c3' });
    await waitFor(() => customers.has('c3'), { timeoutMs: 30_000, description: 'c3 on this worker' });
    await orders.send({ customer: 'c3', qty: 4 }, { key: 'o4' });
    await waitForCommitted(app, { timeoutMs: 60_000 });
    expect([...enriched].sort()).to.deep.equal(['1:Ada', '2:Bob', '4:Cy']);
    expect(app.agents[0]!.stats()).to.include({ settled: 4, retried: 0, deadLettered: 0 });
  });
});
