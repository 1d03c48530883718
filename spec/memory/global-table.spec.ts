import { expect } from 'chai';
import { Registry } from 'prom-client';
import { VirtualAction, VirtualTimeScheduler, tap } from 'rxjs';
import {
  type App,
  ConfigurationError,
  GlobalTableNotReadyError,
  MemoryBroker,
  MemoryTableStore,
  MemoryTransport,
  type StoreChange,
  type Transport,
  createApp,
  joinTable,
  json,
  silentLogger,
} from '../../lib/index.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor } from '../../lib/testing/index.js';
import { partitionForKey } from '../../lib/transports/partitioner.js';
import { delegateTransport } from '../support/delegate.js';

interface Customer {
  readonly name: string;
  readonly region: string;
}
interface Order {
  readonly customer: string;
  readonly qty: number;
}

/** A memory store whose writes wait while it is held (the restore, or the tail after it). */
class HeldStore extends MemoryTableStore {
  #gate: Promise<void> | undefined;
  #open: () => void = () => {};

  hold(): void {
    this.#gate ??= new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open();
    this.#gate = undefined;
  }

  override async apply(partition: number, changes: readonly StoreChange[], offset: number): Promise<void> {
    await this.#gate;
    return super.apply(partition, changes, offset);
  }
}

/** A memory store that logs what is written to it. */
class LoggedStore extends MemoryTableStore {
  readonly writes: { partition: number; keys: string[]; checkpoint: number }[] = [];

  override async apply(partition: number, changes: readonly StoreChange[], offset: number): Promise<void> {
    this.writes.push({ partition, keys: changes.map((c) => c.key.toString()), checkpoint: offset });
    return super.apply(partition, changes, offset);
  }
}

/** A worker of the app `shop` on `broker`, with the global table `customers`. */
function worker(
  broker: MemoryBroker,
  options: {
    readonly store?: () => MemoryTableStore;
    readonly transport?: (inner: Transport) => Transport;
    readonly scheduler?: VirtualTimeScheduler;
  } = {},
) {
  const inner = new MemoryTransport(broker);
  const app = createApp({
    id: 'shop',
    transport: options.transport ? options.transport(inner) : inner,
    logger: silentLogger,
  });
  const customers = app.globalTable<Customer>('customers', {
    value: json(),
    partitions: 3,
    ...(options.store ? { store: options.store } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler, lagRefreshMs: 10 } : {}),
  });
  return { app, customers };
}

const ada = { name: 'Ada', region: 'eu' };
const bob = { name: 'Bob', region: 'us' };
const cy = { name: 'Cy', region: 'ap' };

describe('global tables (memory://)', () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });
  const track = <W extends { app: App }>(made: W): W => {
    apps.push(made.app);
    return made;
  };

  it('is restored on a fresh worker: every record sent before start is there once app.start() resolves', async () => {
    const broker = new MemoryBroker();
    const writer = track(worker(broker));
    await writer.customers.topic.send(ada, { key: 'c1' });
    await writer.customers.topic.send(bob, { key: 'c2' });
    await writer.customers.topic.send({ ...ada, region: 'us' }, { key: 'c1' }); // the last one wins
    await writer.customers.topic.send(cy, { key: 'c3' });
    await writer.customers.delete('c3'); // a tombstone deletes
    const many = Array.from({ length: 200 }, (_, i) => ({
      key: `k${i}`,
      value: { name: `n${i}`, region: 'eu' },
    }));
    await writer.customers.topic.sendMany(many);

    const { app, customers } = track(worker(broker));
    expect(() => customers.get('c1')).to.throw(GlobalTableNotReadyError);
    await app.start();
    expect(customers.get('c1')).to.deep.equal({ ...ada, region: 'us' });
    expect(customers.get('c2')).to.deep.equal(bob);
    expect(customers.has('c3')).to.equal(false);
    expect(customers.get('nobody')).to.equal(undefined);
    expect(customers.size).to.equal(202);
    for (const { key, value } of many) expect(customers.get(key)).to.deep.equal(value);
    const keys = customers.partitions().flatMap((p) => customers.keys(p, { limit: 1000 }).keys);
    expect(keys).to.have.length(202).and.include.members(['c1', 'c2', 'k0', 'k199']);
    const stats = customers.stats();
    expect(stats).to.include({ name: 'customers', topic: 'customers', state: 'ready', partitionCount: 3 });
    const ends = await (await app.transport()).endOffsets('customers');
    for (const p of stats.partitions) {
      expect(p.position).to.equal(ends.find((e) => e.partition === p.partition)!.offset);
      expect(p.lag).to.equal(0);
    }
  });

  it('follows its topic while the app runs: a send shows soon, a tombstone deletes; what the restore read is not applied again', async () => {
    const broker = new MemoryBroker();
    const store = new LoggedStore();
    const { app, customers } = track(worker(broker, { store: () => store }));
    await customers.topic.send(cy, { key: 'old' });
    await customers.topic.send(cy, { key: 'old' });
    await app.start();
    expect(customers.size).to.equal(1);
    const { partition, offset } = await customers.topic.send(ada, { key: 'c1' });
    await waitFor(() => customers.get('c1') !== undefined, { description: 'c1 to show' });
    // the restore wrote the two old records; the tail read every partition from its start, and
    // skipped them
    const old = partitionForKey(Buffer.from('old'), 3);
    expect(store.writes).to.deep.equal([
      { partition: old, keys: ['old', 'old'], checkpoint: 2 },
      { partition, keys: ['c1'], checkpoint: offset + 1 },
    ]);
    await customers.delete('old');
    await waitFor(() => customers.get('c1') !== undefined, { description: 'c1 to show' });
    expect(customers.get('c1')).to.deep.equal(ada);
    await customers.topic.send(bob, { key: 'c1' });
    await waitFor(() => customers.get('c1')?.name === 'Bob', { description: 'c1 to change' });
    await customers.delete('c1');
    await waitFor(() => !customers.has('c1'), { description: 'c1 to go' });
    expect(customers.size).to.equal(0);
    expect(customers.stats().partitions.reduce((sum, p) => sum + p.position, 0)).to.equal(6);
  });

  it('two workers on one broker each hold every key of every partition', async () => {
    const broker = new MemoryBroker();
    const one = track(worker(broker));
    const two = track(worker(broker));
    await one.customers.topic.sendMany(
      Array.from({ length: 30 }, (_, i) => ({ key: `c${i}`, value: { name: `n${i}`, region: 'eu' } })),
    );
    await Promise.all([one.app.start(), two.app.start()]);
    await one.customers.topic.send(ada, { key: 'late' });
    for (const { customers } of [one, two]) {
      await waitFor(() => customers.has('late'), { description: 'the late key on each worker' });
      expect(customers.size).to.equal(31);
      for (let i = 0; i < 30; i++) expect(customers.get(`c${i}`)?.name).to.equal(`n${i}`);
      expect(customers.partitions()).to.deep.equal([0, 1, 2]);
      expect(customers.stats().partitions.every((p) => p.keys > 0)).to.equal(true);
    }
  });

  it('an agent joins orders with the customers and gets the enriched values (inner: unknown customers are settled)', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 2 });
    const { app, customers } = track(worker(broker));
    const orders = app.topic<Order>('orders', { value: json() });
    await customers.topic.send(ada, { key: 'c1' });
    await customers.topic.send(bob, { key: 'c2' });
    const enriched: string[] = [];
    app.agent(
      'enrich',
      orders,
      (order$) =>
        order$.pipe(
          joinTable(customers, (order, customer) => `${customer.name}/${customer.region}/${order.qty}`, {
            key: (m) => m.value.customer,
          }),
          tap((m) => enriched.push(m.value)),
        ),
      { commitIntervalMs: 1 },
    );
    await orders.send({ customer: 'c1', qty: 1 }, { key: 'o1' });
    await orders.send({ customer: 'zz', qty: 2 }, { key: 'o2' });
    await app.start();
    // the agent's first record already saw the restored table
    await waitFor(() => enriched.length === 1, { description: 'o1 enriched' });
    expect(enriched).to.deep.equal(['Ada/eu/1']);
    await customers.topic.send(cy, { key: 'zz' });
    await waitFor(() => customers.has('zz'));
    await orders.send({ customer: 'zz', qty: 3 }, { key: 'o3' });
    await orders.send({ customer: 'c2', qty: 4 }, { key: 'o4' });
    await waitFor(() => enriched.length === 3, { description: 'o3 and o4 enriched' });
    expect([...enriched].sort()).to.deep.equal(['Ada/eu/1', 'Bob/us/4', 'Cy/ap/3']);
    const agent = app.agents[0]!;
    await waitFor(() => agent.stats().settled === 4, { description: 'all four orders settled' });
    expect(agent.stats()).to.include({ retried: 0, deadLettered: 0, inFlight: 0 });
  });

  it('app.start() waits for the restore: get throws GlobalTableNotReadyError meanwhile and no agent processes a record', async () => {
    const broker = new MemoryBroker();
    const store = new HeldStore();
    store.hold();
    const { app, customers } = track(worker(broker, { store: () => store }));
    const orders = app.topic<Order>('orders', { value: json() });
    await customers.topic.send(ada, { key: 'c1' });
    await orders.send({ customer: 'c1', qty: 1 });
    const seen: string[] = [];
    app.agent('enrich', orders, (order$) =>
      order$.pipe(
        joinTable(customers, (order, customer) => customer.name, { key: (m) => m.value.customer }),
        tap((m) => seen.push(m.value)),
      ),
    );
    let started = false;
    const starting = app.start().then(() => (started = true));
    await waitFor(() => customers.stats().state === 'restoring', { description: 'the restore to begin' });
    expect(() => customers.get('c1'))
      .to.throw(GlobalTableNotReadyError)
      .with.property('message')
      .that.includes('customers is restoring');
    expect(started).to.equal(false);
    expect(app.agents[0]!.stats().received).to.equal(0);
    store.release();
    await starting;
    expect(customers.get('c1')).to.deep.equal(ada);
    await waitFor(() => seen.length === 1);
    expect(seen).to.deep.equal(['Ada']);
  });

  it('starts another consumer when the one following the topic crashes, and warns once about a key in another partition than its own', async () => {
    const broker = new MemoryBroker();
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const consumers: { stop(): Promise<void>; crash(error: Error): void }[] = [];
    const warnings: string[] = [];
    const inner = new MemoryTransport(broker);
    const app = createApp({
      id: 'shop',
      logger: { ...silentLogger, warn: (_fields, message) => warnings.push(message ?? '') },
      transport: delegateTransport(inner, {
        consume: async (options, handlers) => {
          const consumer = await inner.consume(options, handlers);
          if (options.groupId.startsWith('shop.global.customers.'))
            consumers.push({ stop: () => consumer.stop(), crash: (error) => handlers.onCrash?.(error) });
          return consumer;
        },
      }),
    });
    apps.push(app);
    const customers = app.globalTable<Customer>('customers', { value: json(), partitions: 3, scheduler });
    await app.start();
    expect(consumers).to.have.length(1);
    await consumers[0]!.stop(); // as a crash would leave it
    consumers[0]!.crash(new Error('lost for good'));
    expect(customers.stats().tailRestarts).to.equal(1);
    await customers.topic.send(ada, { key: 'c1' });
    expect(customers.has('c1')).to.equal(false);
    scheduler.maxFrames += 1_000; // the restart delay
    scheduler.flush();
    await waitFor(() => customers.has('c1'), { description: 'the new consumer to apply c1' });
    expect(consumers).to.have.length(2);

    const own = partitionForKey(Buffer.from('c2'), 3);
    const elsewhere = (own + 1) % 3;
    await customers.topic.send(bob, { key: 'c2', partition: elsewhere });
    const { offset } = await customers.topic.send(bob, { key: 'c2', partition: elsewhere });
    await waitFor(() => customers.stats().partitions[elsewhere]!.position === offset + 1, {
      description: 'both records applied',
    });
    expect(customers.has('c2')).to.equal(false); // get looks in the key's own partition
    expect(warnings.filter((w) => w.includes('another partition than its key hashes to'))).to.have.length(1);
  });

  it('refuses a lagRefreshMs that is not a positive number', () => {
    const app = createApp({ id: 'shop', broker: 'memory://global-config', logger: silentLogger });
    expect(() => app.globalTable('customers', { lagRefreshMs: 0 })).to.throw(
      ConfigurationError,
      /lagRefreshMs/,
    );
  });

  it('shows per partition how far behind its copy is, in stats and in /metrics; the refresh stops with the app', async () => {
    const broker = new MemoryBroker();
    const store = new HeldStore();
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    let endOffsetCalls = 0;
    const { app, customers } = track(
      worker(broker, {
        store: () => store,
        scheduler,
        transport: (inner) =>
          delegateTransport(inner, {
            endOffsets: (topic) => {
              if (topic === 'customers') endOffsetCalls++;
              return inner.endOffsets(topic);
            },
          }),
      }),
    );
    const metrics = appMetrics(app, { registry: new Registry() });
    await app.start();
    store.hold(); // the tail cannot apply what comes now
    await customers.topic.sendMany([
      { key: 'c1', value: ada, partition: 1 },
      { key: 'c1', value: bob, partition: 1 },
    ]);
    const calls = endOffsetCalls;
    scheduler.maxFrames += 10; // one refresh of the end offsets
    scheduler.flush();
    expect(endOffsetCalls).to.equal(calls + 1);
    await waitFor(() => customers.stats().partitions[1]!.lag === 2, { description: 'a lag of 2' });
    expect(customers.stats().partitions.map((p) => p.lag)).to.deep.equal([0, 2, 0]);
    const text = await metrics.registry.metrics();
    expect(text).to.include('rivulet_global_table_lag_records{table="customers",partition="1"} 2');
    expect(text).to.include('rivulet_global_table_lag_records{table="customers",partition="0"} 0');
    store.release();
    await waitFor(() => customers.stats().partitions[1]!.lag === 0, { description: 'caught up' });
    expect(customers.stats().partitions[1]).to.include({ position: 2, end: 2, lag: 0 });

    await app.stop();
    expect(scheduler.actions).to.have.length(0); // no refresh left scheduled
    const afterStop = endOffsetCalls;
    scheduler.maxFrames += 100;
    scheduler.flush();
    expect(endOffsetCalls).to.equal(afterStop);
    expect(customers.stats().state).to.equal('closed');
  });
});
