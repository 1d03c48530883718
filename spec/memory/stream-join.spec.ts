import { expect } from 'chai';
import { tap } from 'rxjs';
import {
  DEAD_LETTER_HEADERS,
  JOIN_DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  type JoinType,
  type ProducerRecord,
  type RecordMetadata,
  type Transport,
  createApp,
  joinStreams,
  json,
  silentLogger,
  toTopic,
  windowJoin,
} from '../../lib/index.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { ChaosTransport } from '../support/chaos-transport.js';
import { delegateTransport } from '../support/delegate.js';
import { sample } from '../support/prometheus.js';

interface Order {
  readonly id: string;
  readonly at: number;
}
interface Payment {
  readonly orderId: string;
  readonly amount: number;
  readonly at: number;
}
interface Paid {
  readonly order: string | null;
  readonly amount: number | null;
}

function shop<T extends JoinType>(
  broker: MemoryBroker,
  type: T,
  results: [string, Paid, number][],
  graceMs = 0,
  transport: Transport = new MemoryTransport(broker),
  within = 1000,
) {
  const app = createApp({ id: 'shop', transport, logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 3 }); // keyed by user
  const payments = app.topic<Payment>('payments', { value: json(), partitions: 2 }); // keyed by payment id
  const paid = joinStreams(app, 'order-payments', orders, payments, {
    within,
    graceMs,
    type,
    leftKey: (m) => m.value.id,
    rightKey: (m) => m.value.orderId,
    leftTime: (m) => m.value.at,
    rightTime: (m) => m.value.at,
    idleAfterMs: 50,
  });
  app.agent(
    'match',
    paid.topic,
    (side$) =>
      side$.pipe(
        windowJoin(paid, (order, payment, key) => ({
          key,
          order: order?.id ?? null,
          amount: payment?.amount ?? null,
        })),
        tap((m) => results.push([m.key, { order: m.value.order, amount: m.value.amount }, m.timestamp])),
      ),
    { errors: { retries: 0 } },
  );
  return { app, orders, payments, paid };
}

/** A worker joining orders and payments (keyed by user and by payment) into `paid` (`order:amount`). */
function paidWorker(transport: Transport, emitted: string[], within: number, idleAfterMs = 1000) {
  const app = createApp({ id: 'shop', transport, logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 2 });
  const payments = app.topic<Payment>('payments', { value: json(), partitions: 2 });
  const paid = joinStreams(app, 'order-payments', orders, payments, {
    within,
    idleAfterMs,
    leftKey: (m) => m.value.id,
    rightKey: (m) => m.value.orderId,
    leftTime: (m) => m.value.at,
    rightTime: (m) => m.value.at,
  });
  const out = app.topic<string>('paid', { value: json(), partitions: 1 });
  app.agent('match', paid.topic, (side$) =>
    side$.pipe(
      windowJoin(paid, (order, payment) => `${order.id}:${payment.amount}`),
      tap((m) => emitted.push(m.value)),
      toTopic(out),
    ),
  );
  return { app, orders, payments, paid };
}

describe('stream–stream join on memory:// (copy agents, one join topic, changelogged state)', () => {
  it('inner: each order meets the payments within 1 s of it, once; records of other partitions meet through the join topic', async () => {
    const broker = new MemoryBroker();
    const results: [string, Paid, number][] = [];
    // The copy agents run apart: one side may reach the join topic seconds ahead of the other, which the
    // grace covers (as input topics consumed at different paces in Kafka Streams).
    const { app, orders, payments, paid } = shop(broker, 'inner', results, 10_000);
    await app.start();
    const base = Date.now() - 60_000;
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      const at = base + i * 100;
      await orders.send({ id: `o${i}`, at }, { key: `user${i % 4}` });
      // o_i is paid twice: 500 ms later (matches), and for even i 1500 ms later (too late to match)
      await payments.send({ orderId: `o${i}`, amount: i, at: at + 500 }, { key: `p${i}` });
      expected.push(`o${i}:${i}@${at + 500}`);
      if (i % 2 === 0) await payments.send({ orderId: `o${i}`, amount: -i, at: at + 1500 }, { key: `q${i}` });
    }
    await waitFor(() => results.length >= expected.length, { timeoutMs: 10_000 });
    await waitForCommitted(app);
    expect(results.map(([key, r, t]) => `${key}:${r.amount}@${t}`).sort()).to.deep.equal(expected.sort());
    await waitFor(() => paid.stats().pending === 0, { timeoutMs: 5000 });
    expect(paid.stats()).to.deep.include({ emitted: 30, settled: 30, lateDeadLettered: 0 });
    await app.stop();
  });

  it('left: an order never paid comes out once it expires, with no payment; outer: a payment of no order too', async () => {
    for (const type of ['left', 'outer'] as const) {
      const broker = new MemoryBroker();
      const results: [string, Paid, number][] = [];
      // within 100 ms: records expire 201 ms of idle wall clock after the last event time
      const { app, orders, payments } = shop(broker, type, results, 0, new MemoryTransport(broker), 100);
      await app.start();
      const at = Date.now() - 60_000;
      await orders.send({ id: 'a', at }, { key: 'u' });
      await orders.send({ id: 'b', at }, { key: 'u' });
      await payments.send({ orderId: 'a', amount: 5, at: at + 100 }, { key: 'p1' });
      await payments.send({ orderId: 'c', amount: 7, at }, { key: 'p2' });
      const expected =
        type === 'left'
          ? ['a:{"order":"a","amount":5}', 'b:{"order":"b","amount":null}']
          : ['a:{"order":"a","amount":5}', 'b:{"order":"b","amount":null}', 'c:{"order":null,"amount":7}'];
      await waitFor(() => results.length >= expected.length, { timeoutMs: 10_000 });
      await waitForCommitted(app);
      expect(results.map(([key, r]) => `${key}:${JSON.stringify(r)}`).sort(), type).to.deep.equal(expected);
      await app.stop();
    }
  });

  it('a late record goes to the join agent’s dead-letter topic', async () => {
    const broker = new MemoryBroker();
    const results: [string, Paid, number][] = [];
    const { app, orders, paid } = shop(broker, 'inner', results);
    await app.start();
    const at = Date.now() - 60_000;
    await orders.send({ id: 'x', at: at + 10_000 }, { key: 'u' });
    await waitForCommitted(app);
    // Same join key, so the same partition of the join topic: 10 s behind its stream time.
    await orders.send({ id: 'x', at }, { key: 'u' });
    await waitForCommitted(app);
    await waitFor(() => paid.stats().lateDeadLettered === 1, { timeoutMs: 5000 });
    const dlq = `${paid.topic.name}.dlq`;
    const dead = Array.from({ length: broker.partitions(dlq) }, (_, p) => broker.read(dlq, p, 0, 10)).flat();
    expect(dead.map((r) => r.headers?.[DEAD_LETTER_HEADERS.errorName])).to.deep.equal([
      'LateJoinRecordError',
    ]);
    await app.stop();
  });

  it('the join shows in the app as a table does: its state among the tables, its watermarks, results and late records in the metrics', async () => {
    const broker = new MemoryBroker();
    const results: [string, Paid, number][] = [];
    // within 1 min: nothing expires (nor moves the watermark by the wall clock) while the test runs
    const { app, orders, payments, paid } = shop(
      broker,
      'inner',
      results,
      0,
      new MemoryTransport(broker),
      60_000,
    );
    const metrics = appMetrics(app);
    try {
      await app.start();
      const at = Date.now() - 60_000;
      await orders.send({ id: 'x', at }, { key: 'u' });
      await payments.send({ orderId: 'x', amount: 3, at }, { key: 'p' });
      await orders.send({ id: 'x', at: at + 10_000 }, { key: 'u' });
      await payments.send({ orderId: 'x', amount: 4, at: at + 10_000 }, { key: 'q' });
      await waitForCommitted(app);
      await orders.send({ id: 'x', at: at - 100_000 }, { key: 'u' }); // its window closed: late
      await waitForCommitted(app);
      await waitFor(() => paid.stats().pending === 0 && paid.stats().lateDeadLettered === 1, {
        timeoutMs: 5000,
      });
      expect(app.streamJoins.get('order-payments')).to.equal(paid);
      expect(app.tables.get('order-payments-join')).to.equal(paid.table);
      const partition = paid.table.partitionOf('x')!;
      const text = await metrics.metrics();
      const join = { join: 'order-payments' };
      expect(sample(text, 'rivulet_join_results_total', { ...join, outcome: 'settled' })).to.equal(4);
      expect(sample(text, 'rivulet_join_late_records_total', { ...join, outcome: 'dead_lettered' })).to.equal(
        1,
      );
      expect(sample(text, 'rivulet_join_results_pending', join)).to.equal(0);
      expect(sample(text, 'rivulet_join_watermark_seconds', { ...join, partition })).to.equal(
        (at + 10_000) / 1000,
      );
      expect(sample(text, 'rivulet_table_keys', { table: 'order-payments-join', partition })).to.equal(1);
    } finally {
      metrics.close();
      await app.stop();
    }
  });

  it('a match leaves, and its records settle, only once their change is in the changelog', async () => {
    const broker = new MemoryBroker();
    const inner = new MemoryTransport(broker);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transport = delegateTransport(inner, {
      produce: async (records) => {
        if (records.some((r) => r.topic.endsWith('-changelog'))) await held;
        return inner.produce(records);
      },
    });
    const results: [string, Paid, number][] = [];
    const { app, orders, payments } = shop(broker, 'inner', results, 0, transport);
    await app.start();
    const at = Date.now();
    await orders.send({ id: 'a', at }, { key: 'u' });
    await payments.send({ orderId: 'a', amount: 5, at }, { key: 'p' });
    const match = app.agents.find((agent) => agent.name === 'match')!;
    await waitFor(() => match.stats().received === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(results).to.deep.equal([]);
    expect(match.stats().settled).to.equal(0);
    release();
    await waitFor(() => results.length === 1);
    await waitForCommitted(app);
    expect(match.stats().settled).to.equal(2);
    await app.stop();
  });

  it('a result that fails for good is dead-lettered (its values as the codecs’ bytes, the join and result in headers) and leaves the state', async () => {
    const broker = new MemoryBroker();
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 1 });
    const payments = app.topic<Payment>('payments', { value: json(), partitions: 1 });
    const paid = joinStreams(app, 'order-payments', orders, payments, {
      within: 1000,
      leftKey: (m) => m.value.id,
      rightKey: (m) => m.value.orderId,
    });
    const written: string[] = [];
    app.agent(
      'match',
      paid.topic,
      (side$) =>
        side$.pipe(
          windowJoin(paid, (order, payment) => {
            if (order.id === 'bad') throw new Error('cannot join bad');
            return `${order.id}:${payment.amount}`;
          }),
          tap((m) => written.push(m.value)),
        ),
      { errors: { retries: 0 } },
    );
    await app.start();
    const at = Date.now();
    await orders.send({ id: 'bad', at }, { key: 'u' });
    await orders.send({ id: 'good', at }, { key: 'u' });
    await payments.send({ orderId: 'bad', amount: 1, at }, { key: 'p1' });
    await payments.send({ orderId: 'good', amount: 2, at }, { key: 'p2' });
    await waitFor(() => paid.stats().resultsDeadLettered === 1 && written.length === 1, { timeoutMs: 5000 });
    expect(written).to.deep.equal(['good:2']);
    const dlq = `${paid.topic.name}.dlq`;
    const [dead] = Array.from({ length: broker.partitions(dlq) }, (_, p) =>
      broker.read(dlq, p, 0, 10),
    ).flat();
    const value = JSON.parse(dead!.value!.toString()) as { key: string; left: string; right: string };
    expect(value.key).to.equal('bad');
    expect(JSON.parse(Buffer.from(value.left, 'base64').toString())).to.deep.equal({ id: 'bad', at });
    expect(dead!.headers).to.include({
      [DEAD_LETTER_HEADERS.errorName]: 'Error',
      [JOIN_DEAD_LETTER_HEADERS.join]: 'order-payments',
    });
    expect(dead!.headers?.[JOIN_DEAD_LETTER_HEADERS.id]).to.match(/^orders\/0\/0\+payments\/0\/0$/);
    await waitFor(() => paid.stats().pending === 0);
    await app.stop();
  });

  it('a result emitted but not settled before a crash is emitted again by the new owner, with the same value', async () => {
    const broker = new MemoryBroker();
    /** A worker whose writes to `paid` never complete (a stuck sink) until it dies. */
    class StuckSink extends ChaosTransport {
      #died!: () => void;
      readonly #death = new Promise<void>((resolve) => (this.#died = resolve));
      override async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
        if (records[0]?.topic !== 'paid') return super.produce(records);
        await this.#death;
        throw new Error('the process is dead');
      }
      override async kill(): Promise<void> {
        this.#died();
        await super.kill();
      }
    }
    // (records kept 2 min: their expiry, which re-pends a key's results, does not come in this test)
    const worker = (transport: Transport, emitted: string[]) => paidWorker(transport, emitted, 60_000);
    const byA: string[] = [];
    const transportA = new StuckSink(broker, { batchSize: 10, delayMs: 0, refusals: 0 });
    const a = worker(transportA, byA);
    await a.app.start();
    const at = Date.now();
    await a.orders.send({ id: 'o1', at }, { key: 'u' });
    await a.payments.send({ orderId: 'o1', amount: 5, at: at + 10 }, { key: 'p' });
    await waitFor(() => byA.length === 1, { timeoutMs: 5000 });
    // Both records settled and committed (their change is durable): the new owner reads no record again,
    // only the changelog, which holds the result until it settles.
    await waitForCommitted(a.app, { timeoutMs: 5000 });
    expect(a.paid.stats()).to.deep.include({ emitted: 1, settled: 0, pending: 1 });
    await transportA.kill();
    const byB: string[] = [];
    const b = worker(new MemoryTransport(broker), byB);
    try {
      await b.app.start();
      const written = (): string[] =>
        broker.read('paid', 0, 0, 10).map((r) => JSON.parse(r.value!.toString()) as string);
      await waitFor(() => written().length === 1, { timeoutMs: 5000 });
      expect(byA).to.deep.equal(['o1:5']);
      expect(byB).to.deep.equal(['o1:5']);
      expect(written()).to.deep.equal(['o1:5']);
      await waitFor(() => b.paid.stats().pending === 0, { timeoutMs: 5000 });
    } finally {
      await b.app.stop();
      await a.app.stop();
    }
  });

  it('stream time per side survives a hand-over: the new owner resumes with each side’s highest event time, so the side behind is still on time', async () => {
    const broker = new MemoryBroker();
    broker.createTopic('shop-order-payments-join', 1); // one partition: every key shares its stream time
    const base = Date.now() - 600_000;
    const byA: string[] = [];
    const a = paidWorker(new MemoryTransport(broker), byA, 100, 1e9);
    await a.app.start();
    await a.orders.send({ id: 'o1', at: base }, { key: 'u' });
    await a.payments.send({ orderId: 'o0', amount: 0, at: base }, { key: 'p0' });
    await a.orders.send({ id: 'o2', at: base + 10_000 }, { key: 'u' }); // the left side runs ahead
    await waitForCommitted(a.app);
    expect(a.paid.stats().watermarks).to.deep.equal({ 0: base });
    await a.app.stop();
    const byB: string[] = [];
    const b = paidWorker(new MemoryTransport(broker), byB, 100, 1e9);
    try {
      await b.app.start();
      await b.orders.send({ id: 'o3', at: base + 20_000 }, { key: 'u' });
      await b.payments.send({ orderId: 'o1', amount: 5, at: base + 50 }, { key: 'p1' });
      await waitForCommitted(b.app);
      expect(byB).to.deep.equal(['o1:5']);
      expect(b.paid.stats()).to.deep.include({ lateDeadLettered: 0, watermarks: { 0: base + 50 } });
    } finally {
      await b.app.stop();
    }
  });
});
