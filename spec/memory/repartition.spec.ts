import { expect } from 'chai';
import { tap } from 'rxjs';
import {
  type App,
  CHANGELOG_HEADERS,
  ConfigurationError,
  DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  REPARTITION_HEADERS,
  type Transport,
  type TransportRecord,
  createApp,
  json,
  type ProducerRecord,
  type WindowResult,
  aggregateWindows,
  count,
  tumbling,
  partitionForKey,
  repartition,
  silentLogger,
  updateTable,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { delegateTransport } from '../support/delegate.js';

interface Order {
  readonly id: number;
  readonly user: string;
  readonly symbol: string;
}

const SYMBOLS = ['ACME', 'BOLT', 'CRUX', 'DYNE', 'EPIC', 'FLUX', 'GRID'];
const order = (id: number): Order => ({
  id,
  user: `u${id % 11}`,
  symbol: SYMBOLS[(id * 3) % SYMBOLS.length]!,
});

/** Every record of every partition of a topic, with its partition. */
function readAll(broker: MemoryBroker, topic: string): { partition: number; record: TransportRecord }[] {
  return Array.from({ length: broker.partitions(topic) }, (_, partition) =>
    broker.read(topic, partition, 0, 1_000_000).map((record) => ({ partition, record })),
  ).flat();
}

/** `topic/partition/offset` of the source record a copy was made from. */
const origin = (record: TransportRecord): string =>
  [REPARTITION_HEADERS.topic, REPARTITION_HEADERS.partition, REPARTITION_HEADERS.offset]
    .map((header) => record.headers[header])
    .join('/');

/** The positions of every record of a topic, as `topic/partition/offset`. */
const positions = (broker: MemoryBroker, topic: string): string[] =>
  readAll(broker, topic).map(({ partition, record }) => `${topic}/${partition}/${record.offset}`);

/** One worker of the app `shop`: orders keyed by user, re-keyed by symbol. */
function shop(transport: Transport, options: { maxInFlight?: number } = {}) {
  const app = createApp({ id: 'shop', transport, logger: silentLogger, shutdownTimeoutMs: 2_000 });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 4 });
  const bySymbol = repartition(app, 'by-symbol', orders, (m) => m.value.symbol, {
    agent: { commitIntervalMs: 1, ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}) },
  });
  return { app, orders, bySymbol };
}

const send = (app: App, orders: ReturnType<typeof shop>['orders'], from: number, count: number) =>
  orders.sendMany(
    Array.from({ length: count }, (_, i) => {
      const value = order(from + i);
      return { key: value.user, value, headers: { source: 'import' }, timestamp: 1_000 + from + i };
    }),
  );

describe('repartition', () => {
  it('copies every message to <app id>-<name>-repartition, on the partition its new key hashes to, with its value, headers and timestamp', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 }); // the partition count must come from the source
    const { app, orders, bySymbol } = shop(new MemoryTransport(broker));
    expect(bySymbol.name).to.equal('shop-by-symbol-repartition');
    expect(app.agents.map((agent) => agent.name)).to.include('by-symbol-repartition');
    await app.start();
    await send(app, orders, 0, 300);
    await waitForCommitted(app);
    await app.stop();

    expect(broker.partitions(bySymbol.name)).to.equal(4);
    const copies = readAll(broker, bySymbol.name);
    expect(copies).to.have.length(300);
    const used = new Set<number>();
    for (const { partition, record } of copies) {
      const value = JSON.parse(record.value!.toString()) as Order;
      expect(value).to.deep.equal(order(value.id));
      expect(record.key!.toString()).to.equal(value.symbol);
      expect(partition).to.equal(partitionForKey(Buffer.from(value.symbol), 4));
      expect(record.timestamp).to.equal(1_000 + value.id);
      expect(record.headers).to.include({ source: 'import', [REPARTITION_HEADERS.topic]: 'orders' });
      // the origin headers name the source record this is a copy of
      const [, sourcePartition, sourceOffset] = origin(record).split('/').map(Number);
      const source = broker.read('orders', sourcePartition!, sourceOffset!, 1)[0]!;
      expect(JSON.parse(source.value!.toString())).to.deep.equal(value);
      used.add(partition);
    }
    expect(used.size, 'the symbols spread over several partitions').to.be.greaterThan(1);
    expect(new Set(copies.map(({ record }) => origin(record)))).to.deep.equal(
      new Set(positions(broker, 'orders')),
    );
  });

  it('takes the partition count and a key codec from its options', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 4 });
    const byId = repartition(app, 'by-id', orders, (m) => m.value.id % 5, {
      partitions: 3,
      keyCodec: json<number>(),
    });
    await app.start();
    await orders.sendMany(Array.from({ length: 50 }, (_, id) => ({ key: `u${id}`, value: order(id) })));
    await waitForCommitted(app);
    await app.stop();
    expect(broker.partitions(byId.name)).to.equal(3);
    const copies = readAll(broker, byId.name);
    expect(copies).to.have.length(50);
    for (const { partition, record } of copies) {
      const { id } = JSON.parse(record.value!.toString()) as Order;
      expect(record.key!.toString()).to.equal(String(id % 5));
      expect(partition).to.equal(partitionForKey(record.key!, 3));
    }
  });

  it('lets a table count per symbol what the source keyed by user', async () => {
    const broker = new MemoryBroker();
    const { app, orders, bySymbol } = shop(new MemoryTransport(broker));
    const counts = app.table<number>('order-count', { value: json<number>(), default: () => 0 });
    app.agent('count', bySymbol, (order$) => order$.pipe(updateTable(counts, (n) => n + 1)));
    await app.start();
    await send(app, orders, 0, 500);
    await waitForCommitted(app);
    const expected = new Map<string, number>();
    for (let id = 0; id < 500; id++)
      expected.set(order(id).symbol, (expected.get(order(id).symbol) ?? 0) + 1);
    for (const [symbol, count] of expected) expect(counts.get(symbol), symbol).to.equal(count);
    await app.stop();
  });

  const endings = {
    stopped: 'stopped',
    'killed-before-ack': 'killed before the broker had its write in flight',
    'killed-after-ack': 'killed after the broker had its write in flight, before it committed',
  } as const;
  for (const [how, title] of Object.entries(endings)) {
    it(`loses nothing when the copy agent is ${title}, and a new worker takes over`, async () => {
      const broker = new MemoryBroker();
      // A slow hop: each produce to the internal topic takes a few ms, so the end comes mid-way.
      const worker = () => {
        const inner = new MemoryTransport(broker);
        let killed = false;
        const transport = delegateTransport(inner, {
          produce: async (records) => {
            if (killed) throw new Error('the process was killed'); // a killed worker writes nothing more
            if (records.some((r) => r.topic === 'shop-by-symbol-repartition'))
              await new Promise((resolve) => setTimeout(resolve, 3));
            if (killed) {
              if (how === 'killed-after-ack') await inner.produce(records); // on the wire: the broker has it
              throw new Error('the process was killed'); // either way the worker never hears back
            }
            return inner.produce(records);
          },
        });
        const kill = async () => {
          killed = true;
          await inner.crash();
        };
        return { kill, ...shop(transport, { maxInFlight: 20 }) };
      };
      const first = worker();
      await first.app.start();
      await send(first.app, first.orders, 0, 2_000);
      await waitFor(() => readAll(broker, 'shop-by-symbol-repartition').length >= 200);
      if (how === 'stopped') await first.app.stop();
      else await first.kill();
      const copiedBefore = readAll(broker, 'shop-by-symbol-repartition').length;
      expect(copiedBefore, 'ended mid-way').to.be.lessThan(2_000);

      const second = worker();
      await second.app.start();
      await send(second.app, second.orders, 2_000, 500); // and more arrives meanwhile
      await waitForCommitted(second.app);
      await Promise.all([second.app.stop(), first.app.stop()]);

      const copied = readAll(broker, 'shop-by-symbol-repartition').map(({ record }) => origin(record));
      expect(new Set(copied), 'every source record copied').to.deep.equal(
        new Set(positions(broker, 'orders')),
      );
      const duplicates = copied.length - new Set(copied).size;
      if (how === 'stopped') expect(duplicates, 'a graceful stop commits what it copied').to.equal(0);
      if (how === 'killed-after-ack') expect(duplicates, 'copied again: at least once').to.be.greaterThan(0);
      expect(broker.read('orders.dlq', 0, 0, 10)).to.have.length(0);
    });
  }

  it('dead-letters a message whose key function throws, or whose key cannot be encoded, and copies the others', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 2 });
    const byTag = repartition(
      app,
      'by-tag',
      orders,
      (m) => {
        if (m.value.id === 3) throw new Error(`order ${m.value.id} has no symbol`);
        return m.value.id === 5 ? Buffer.from('binary') : m.value.symbol; // json() refuses a Buffer
      },
      { keyCodec: json<unknown>(), agent: { errors: { retries: 1, backoff: { initialDelayMs: 1 } } } },
    );
    await app.start();
    await orders.sendMany(Array.from({ length: 10 }, (_, id) => ({ key: 'u', value: order(id) })));
    await waitForCommitted(app);
    await app.stop();

    const copied = readAll(broker, byTag.name).map(
      ({ record }) => (JSON.parse(record.value!.toString()) as Order).id,
    );
    expect(copied.sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 4, 6, 7, 8, 9]);
    const dead = readAll(broker, 'orders.dlq').map(({ record }) => record);
    expect(dead.map((r) => (JSON.parse(r.value!.toString()) as Order).id).sort()).to.deep.equal([3, 5]);
    const byId = new Map(dead.map((r) => [(JSON.parse(r.value!.toString()) as Order).id, r.headers]));
    expect(byId.get(3)![DEAD_LETTER_HEADERS.error]).to.contain('order 3 has no symbol');
    expect(byId.get(3)![DEAD_LETTER_HEADERS.agent]).to.equal('by-tag-repartition');
    expect(byId.get(5)![DEAD_LETTER_HEADERS.errorName]).to.equal('EncodeError');
  });

  it('counts a record copied twice once, also after the updating agent restarted in between (origins restored from the changelog headers)', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const internal = 'shop-by-symbol-repartition';
    const copyOf = (offset: number, committed: number): ProducerRecord => ({
      topic: internal,
      key: Buffer.from('ACME'),
      value: Buffer.from(JSON.stringify(order(offset))),
      headers: {
        [REPARTITION_HEADERS.topic]: 'orders',
        [REPARTITION_HEADERS.partition]: '0',
        [REPARTITION_HEADERS.offset]: String(offset),
        [REPARTITION_HEADERS.committed]: String(committed),
        [REPARTITION_HEADERS.via]: internal,
      },
    });
    const counter = async () => {
      const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
      const bySymbol = app.topic<Order>(internal, { value: json() });
      const counts = app.table<number>('order-count', { value: json<number>(), default: () => 0 });
      app.agent('count', bySymbol, (order$) => order$.pipe(updateTable(counts, (n) => n + 1)), {
        commitIntervalMs: 1,
      });
      await app.start();
      return { app, counts };
    };
    // origin offsets 0..2 copied; the copy agent crashed before committing, so 1 and 2 are copied again
    broker.produce([copyOf(0, 0), copyOf(1, 0), copyOf(2, 0)]);
    const first = await counter();
    await waitForCommitted(first.app);
    expect(first.counts.get('ACME')).to.equal(3);
    const last = broker.read('shop-order-count-changelog', 0, 0, 100).at(-1)!;
    expect(last.headers[CHANGELOG_HEADERS.appliedOrigins]).to.equal('orders/0=0;0.3'); // origin offsets 0 to 2
    await first.app.stop();

    broker.produce([copyOf(1, 1), copyOf(2, 1), copyOf(3, 1)]); // a second copy of 1 and 2, then 3
    const second = await counter();
    await waitForCommitted(second.app);
    expect(second.counts.get('ACME'), '1 and 2 counted once, 3 counted').to.equal(4);
    await second.app.stop();
  });

  it('lets a window behind the hop count a record copied twice once', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const internal = 'shop-by-symbol-repartition';
    const at = Date.now();
    const copyOf = (offset: number, committed: number): ProducerRecord => ({
      topic: internal,
      key: Buffer.from('ACME'),
      value: Buffer.from(JSON.stringify({ ...order(offset), at })),
      headers: {
        [REPARTITION_HEADERS.topic]: 'orders',
        [REPARTITION_HEADERS.partition]: '0',
        [REPARTITION_HEADERS.offset]: String(offset),
        [REPARTITION_HEADERS.committed]: String(committed),
        [REPARTITION_HEADERS.via]: internal,
      },
    });
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const bySymbol = app.topic<Order & { at: number }>(internal, { value: json() });
    const perSecond = app.windowTable<Order & { at: number }, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
      idleAfterMs: 50,
    });
    const results: WindowResult<string, number>[] = [];
    app.agent('volume', bySymbol, (order$) =>
      order$.pipe(
        aggregateWindows(perSecond, { time: (m) => m.value.at }),
        tap((m) => results.push(m.value)),
      ),
    );
    // 0..2 copied, then 1 and 2 copied again (the copy agent crashed before committing them)
    broker.produce([copyOf(0, 0), copyOf(1, 0), copyOf(2, 0), copyOf(1, 1), copyOf(2, 1)]);
    await app.start();
    await waitFor(() => results.length > 0, { timeoutMs: 5_000 });
    expect(results.map((r) => [r.key, r.value])).to.deep.equal([['ACME', 3]]);
    await app.stop();
  });

  it('refuses the same name twice', () => {
    const app = createApp({ id: 'shop', broker: 'memory://repartition-twice', logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json() });
    repartition(app, 'by-symbol', orders, (m) => m.value.symbol);
    expect(() => repartition(app, 'by-symbol', orders, (m) => m.value.user)).to.throw(
      ConfigurationError,
      /Repartition by-symbol is declared twice/,
    );
  });
});
