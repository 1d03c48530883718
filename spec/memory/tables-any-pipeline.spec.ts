import { expect } from 'chai';
import {
  EMPTY,
  Subject,
  type Observable,
  defer,
  expand,
  filter,
  groupBy,
  map,
  mergeMap,
  of,
  switchMap,
} from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  TableBindingError,
  TableNotBoundError,
  aggregateWindows,
  count,
  createApp,
  createMessage,
  json,
  silentLogger,
  tumbling,
  updateTable,
  type AgentOptions,
  type Message,
  type Table,
  type TableUpdate,
  type WindowResult,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

/**
 * State bound in any pipeline shape: a table updated from an operator that subscribes the update
 * late (a group's `mergeMap`, `switchMap`, `defer`, `expand`) is bound to the agent by its first
 * message: changes reach the changelog, a restart restores them exactly, commits follow the changes.
 */

interface Order {
  readonly user: string;
  readonly qty: number;
}

type In = Message<Order, string | null>;
type Out = Message<TableUpdate<string, number, Order>, string | null>;
type Totals = Table<string, number, number>;

/** Adds each order's quantity to its user's total. */
const add = (totals: Totals) => updateTable(totals, (sum: number, m: In) => sum + m.value.qty);

/** Pipelines whose update is subscribed after the agent subscribed its pipeline. */
const shapes: Record<
  string,
  { pipeline: (totals: Totals) => (order$: Observable<In>) => Observable<Out>; options?: AgentOptions }
> = {
  'groupBy → mergeMap': {
    pipeline: (totals) => (order$) =>
      order$.pipe(
        groupBy((m) => m.key),
        mergeMap((group$) => group$.pipe(add(totals))),
      ),
  },
  // switchMap cancels the inner of a message still in flight: one record in flight keeps them whole
  switchMap: {
    pipeline: (totals) => (order$) => order$.pipe(switchMap((m) => of(m).pipe(add(totals)))),
    options: { maxInFlight: 1 },
  },
  defer: {
    pipeline: (totals) => (order$) => order$.pipe(mergeMap((m) => defer(() => of(m).pipe(add(totals))))),
  },
  expand: {
    // the update is what each order expands to (the order itself is carried, not emitted)
    pipeline: (totals) => (order$) =>
      order$.pipe(
        mergeMap((m) =>
          of<{ readonly order?: In; readonly update?: Out }>({ order: m }).pipe(
            expand((step) =>
              step.order
                ? of(step.order).pipe(
                    add(totals),
                    map((update) => ({ update })),
                  )
                : EMPTY,
            ),
            filter((step) => step.update !== undefined),
            map((step) => step.update!),
          ),
        ),
      ),
  },
};

function worker(broker: MemoryBroker, shape: keyof typeof shapes, options: AgentOptions = {}) {
  const transport = new MemoryTransport(broker, { batchSize: 7 });
  const app = createApp({ id: 'shop', transport, logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 3 });
  const totals = app.table<number>('totals', { default: () => 0 });
  const { pipeline, options: shapeOptions } = shapes[shape]!;
  app.agent('total', orders, pipeline(totals), {
    commitIntervalMs: 1,
    stallTimeoutMs: 0,
    ...shapeOptions,
    ...options,
  });
  return { app, totals, transport };
}

function expectedTotals(count: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (let i = 0; i < count; i++) totals.set(`u${i % 5}`, (totals.get(`u${i % 5}`) ?? 0) + i);
  return totals;
}

function changelogSize(broker: MemoryBroker): number {
  return broker.endOffsets('shop-totals-changelog').reduce((sum, p) => sum + p.offset, 0);
}

/** What the changelog says each key holds now: its last record (as compaction would keep it). */
function lastValues(broker: MemoryBroker): Map<string, number> {
  const values = new Map<string, number>();
  for (const { partition, offset } of broker.endOffsets('shop-totals-changelog'))
    for (const record of broker.read('shop-totals-changelog', partition, 0, offset))
      values.set(record.key!.toString(), JSON.parse(record.value!.toString()) as number);
  return values;
}

function send(broker: MemoryBroker, from: number, to: number): void {
  for (let i = from; i < to; i++)
    broker.produce([
      {
        topic: 'orders',
        key: Buffer.from(`u${i % 5}`),
        value: Buffer.from(JSON.stringify({ user: `u${i % 5}`, qty: i })),
      },
    ]);
}

/** `error` and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && chain.length < 10; e = (e as { cause?: unknown }).cause)
    chain.push(e);
  return chain;
}

/** The group's committed offsets are the topic's end offsets. */
function expectCommittedToEnd(broker: MemoryBroker, group: string, topic: string): void {
  expect(broker.committedOffsets(group, topic)).to.deep.equal(broker.endOffsets(topic));
}

describe('tables updated late in the pipeline (memory://): bound to the agent by their first message', () => {
  for (const shape of Object.keys(shapes)) {
    it(`${shape}: the changelog gets the changes, a restart after a crash restores them exactly, commits follow`, async () => {
      const broker = new MemoryBroker({ defaultPartitions: 3 });
      const one = worker(broker, shape);
      await one.app.start();
      send(broker, 0, 30);
      await waitForCommitted(one.app);
      for (const [user, total] of expectedTotals(30)) expect(one.totals.get(user)).to.equal(total);
      expect(changelogSize(broker)).to.be.within(5, 30);
      expect(lastValues(broker)).to.deep.equal(expectedTotals(30));
      expect(one.totals.stats()).to.include({ state: 'ready', partitionCount: 3 });
      expectCommittedToEnd(broker, 'shop.total', 'orders');
      await one.app.stop();

      // changes written, offsets not committed: the next worker gets these records again
      const two = worker(broker, shape, { commitIntervalMs: 60_000 });
      await two.app.start();
      send(broker, 30, 40);
      await waitFor(() => two.app.agents[0]!.stats().settled === 10);
      await waitFor(() => two.totals.stats().partitions.every((p) => p.pendingWrites === 0));
      expect(lastValues(broker)).to.deep.equal(expectedTotals(40));
      await two.transport.crash();

      const three = worker(broker, shape);
      await three.app.start();
      send(broker, 40, 50);
      await waitForCommitted(three.app);
      // restored before the first message was applied (none waited for a retry), none counted twice
      for (const [user, total] of expectedTotals(50)) expect(three.totals.get(user)).to.equal(total);
      expect(lastValues(broker)).to.deep.equal(expectedTotals(50));
      expect(three.app.agents[0]!.stats()).to.include({ settled: 20, retried: 0, deadLettered: 0 });
      expectCommittedToEnd(broker, 'shop.total', 'orders');
      await three.app.stop();
    });
  }

  it('a windowed table under groupBy → mergeMap: exact counts, one result per window, restored after a restart', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 2 });
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 7_200_000; // ahead: nothing closes idle
    const volume = (results: WindowResult<string, number>[]) => {
      const app = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
      const orders = app.topic<{ symbol: string; at: number }>('trades', { value: json(), partitions: 2 });
      const perSecond = app.windowTable<{ symbol: string; at: number }, number>('per-second', {
        window: tumbling(1000),
        aggregate: count(),
        idleAfterMs: 60_000,
      });
      app.agent(
        'volume',
        orders,
        (order$) =>
          order$.pipe(
            groupBy((m) => m.key),
            mergeMap((group$) => group$.pipe(aggregateWindows(perSecond, { time: (m) => m.value.at }))),
            map((m) => {
              results.push(m.value);
              return m;
            }),
          ),
        { commitIntervalMs: 1, stallTimeoutMs: 0 },
      );
      return { app, orders, perSecond };
    };
    const symbols = ['ACME', 'INIT', 'TECH'];
    const first: WindowResult<string, number>[] = [];
    const one = volume(first);
    await one.app.start();
    // 30 trades in the first second of the hour, 10 per symbol
    for (let i = 0; i < 30; i++)
      await one.orders.send({ symbol: symbols[i % 3]!, at: hour + i }, { key: symbols[i % 3]! });
    await waitForCommitted(one.app);
    expect(first).to.deep.equal([]);
    for (const symbol of symbols)
      expect(one.perSecond.get(symbol)).to.deep.equal([{ start: hour, end: hour + 1000, value: 10 }]);
    expect(
      broker.endOffsets('volume-per-second-changelog').reduce((sum, p) => sum + p.offset, 0),
    ).to.be.at.least(2);
    expectCommittedToEnd(broker, 'volume.volume', 'trades');
    await one.app.stop();

    // the windows come back from the changelog alone; a trade a second later closes each symbol's
    const second: WindowResult<string, number>[] = [];
    const two = volume(second);
    await two.app.start();
    for (const symbol of symbols) await two.orders.send({ symbol, at: hour + 1000 }, { key: symbol });
    await waitFor(() => second.length === 3, { timeoutMs: 10_000 });
    await waitForCommitted(two.app);
    expect(second.map((r) => [r.key, r.start, r.value, r.final]).sort()).to.deep.equal(
      symbols.map((symbol) => [symbol, hour, 10, true]),
    );
    expect(two.app.agents[0]!.stats()).to.include({ retried: 0, deadLettered: 0 });
    expectCommittedToEnd(broker, 'volume.volume', 'trades');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(second).to.have.length(3); // one result per window, whatever group's subscription emitted it
    await two.app.stop();
  });

  it('a direct subscription (topic.pipe(updateTable(...)).subscribe()) binds the table to the agent it runs as', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 3 });
    const totals = app.table<number>('totals', { default: () => 0 });
    await app.start();
    const subscription = orders.pipe(add(totals)).subscribe();
    send(broker, 0, 30);
    await waitForCommitted(app);
    await waitFor(() => lastValues(broker).size === 5);
    for (const [user, total] of expectedTotals(30)) expect(totals.get(user)).to.equal(total);
    expect(lastValues(broker)).to.deep.equal(expectedTotals(30));
    expect(totals.stats()).to.include({ state: 'ready', partitionCount: 3 });
    subscription.unsubscribe();
    await app.stop();
  });

  it('a message of no agent fails the pipeline with TableNotBoundError instead of updating a local table', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json() });
    const totals = app.table<number>('totals', { default: () => 0 });
    // messages made by hand inside the agent belong to no agent
    const agent = app.agent(
      'total',
      orders,
      (order$) =>
        order$.pipe(
          mergeMap((m) => of(createMessage({ topic: 'orders', key: m.key, value: m.value }))),
          add(totals),
        ),
      { restarts: { max: 0 }, stallTimeoutMs: 0 },
    );
    await orders.send({ user: 'ada', qty: 1 }, { key: 'ada' });
    const error = await app.run({ handleSignals: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(agent.state).to.equal('failed');
    const named = causes(error).find((e) => e instanceof TableNotBoundError) as TableNotBoundError;
    expect(named).to.include({ table: 'totals', topic: 'orders', partition: 0 });
    expect(named.message).to.contain('belongs to no agent');
    // never a local table that counted: no changelog, no partition
    expect(totals.ownedPartitions()).to.deep.equal([]);
    expect(changelogSize(broker)).to.equal(0);
  });

  it('outside an agent and testPipeline, the operator errors with TableNotBoundError', () => {
    const app = createApp({ id: 'shop', logger: silentLogger });
    const totals = app.table<number>('totals', { default: () => 0 });
    const errors: unknown[] = [];
    new Subject<In>().pipe(add(totals)).subscribe({ error: (error: unknown) => errors.push(error) });
    of(createMessage<Order, string | null>({ topic: 'orders', key: 'ada', value: { user: 'ada', qty: 1 } }))
      .pipe(add(totals))
      .subscribe({ error: (error: unknown) => errors.push(error) });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(TableNotBoundError);
    expect((errors[0] as TableNotBoundError).table).to.equal('totals');
  });

  it('a table updated late by a second agent fails that pipeline with TableBindingError', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json() });
    const refunds = app.topic<Order>('refunds', { value: json() });
    const totals = app.table<number>('totals', { default: () => 0 });
    const late = (order$: Observable<In>) =>
      order$.pipe(
        groupBy((m) => m.key),
        mergeMap((group$) => group$.pipe(add(totals))),
      );
    app.agent('total', orders, late, { commitIntervalMs: 1, stallTimeoutMs: 0 });
    const second = app.agent('refund', refunds, late, { restarts: { max: 0 }, stallTimeoutMs: 0 });
    await app.start();
    await orders.send({ user: 'ada', qty: 1 }, { key: 'ada' });
    await waitFor(() => totals.stats().partitionCount === 1 && app.agents[0]!.stats().settled === 1);
    await refunds.send({ user: 'ada', qty: 1 }, { key: 'ada' });
    await waitFor(() => second.state !== 'running');
    expect(causes(second.failure).some((e) => e instanceof TableBindingError)).to.equal(true);
    await app.stop().catch(() => undefined);
  });
});
