import { expect } from 'chai';
import { type Observable, delay, map, of, toArray } from 'rxjs';
import {
  type App,
  type GlobalTable,
  GlobalTableNotReadyError,
  type Message,
  RepartitionRequiredError,
  createApp,
  joinTable,
  json,
  silentLogger,
  updateTable,
} from '../../../lib/index.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

interface Order {
  readonly customer: string;
  readonly qty: number;
}
interface Customer {
  readonly name: string;
}

let brokers = 0;

/** A global table of customers c1 (Ada) and c3 (Cy), restored on a fresh memory broker. */
async function customers(): Promise<{ app: App; table: GlobalTable<string, Customer> }> {
  const app = createApp({
    id: 'join-unit',
    broker: `memory://join-table-${++brokers}`,
    logger: silentLogger,
  });
  const table = app.globalTable<Customer>('customers', { value: json(), partitions: 2 });
  await table.topic.send({ name: 'Ada' }, { key: 'c1' });
  await table.topic.send({ name: 'Cy' }, { key: 'c3' });
  await app.start();
  return { app, table };
}

const orders = {
  a: { customer: 'c1', qty: 1 },
  b: { customer: 'c2', qty: 2 }, // no such customer
  c: { customer: 'c3', qty: 3 },
};

const byCustomer = { key: (m: Message<Order, unknown>) => m.value.customer };

describe('joinTable', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  describe('with a global table', () => {
    it('inner: enriches messages with a row and settles the others on purpose; the source is unsubscribed at the end', async () => {
      const made = await customers();
      app = made.app;
      marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c|', orders);
        const run = testPipeline(
          (order$: Observable<Message<Order, string | null>>) =>
            order$.pipe(
              joinTable(made.table, (order, customer) => `${customer.name}×${order.qty}`, byCustomer),
              delay(3),
            ),
          source,
        );
        expectObservable(run.output.pipe(map((m) => [m.offset, m.value]))).toBe('----a---(c|)', {
          a: [0, 'Ada×1'],
          c: [2, 'Cy×3'],
        });
        // b (offset 1) settles as it passes, a and c once they reach the end
        expectObservable(run.settled).toBe('---ba---(c|)', { a: 0, b: 1, c: 2 });
        expectObservable(run.committed).toBe('----a---(c|)', { a: 2, c: 3 });
        expectObservable(run.failed).toBe('--------|');
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('left: passes a message without a row on, with an undefined row', async () => {
      const made = await customers();
      app = made.app;
      marbles().run(({ cold, expectObservable }) => {
        const run = testPipeline(
          joinTable(made.table, (order: Order, customer) => `${customer?.name ?? '?'}×${order.qty}`, {
            ...byCustomer,
            type: 'left',
          }),
          cold('-a-b-c|', orders),
        );
        expectObservable(run.output.pipe(map((m) => m.value))).toBe('-a-b-c|', {
          a: 'Ada×1',
          b: '?×2',
          c: 'Cy×3',
        });
        expectObservable(run.settled).toBe('-a-b-c|', { a: 0, b: 1, c: 2 });
      });
    });

    it('keeps the lineage: one record in, the same record out (offset, partition, key), settled once downstream settles it', async () => {
      const made = await customers();
      app = made.app;
      marbles().run(({ cold, expectObservable }) => {
        const input = cold('-x|', { x: testMessage(orders.a, { key: 'k', partition: 1, offset: 41 }) });
        const run = testPipeline(
          (order$: Observable<Message<Order, string>>) =>
            order$.pipe(
              joinTable(made.table, (order, customer) => ({ ...order, name: customer.name }), byCustomer),
              delay(3),
            ),
          input,
        );
        expectObservable(
          run.output.pipe(
            map((m) => ({ key: m.key, partition: m.partition, offset: m.offset, value: m.value })),
          ),
        ).toBe('----(x|)', {
          x: { key: 'k', partition: 1, offset: 41, value: { customer: 'c1', qty: 1, name: 'Ada' } },
        });
        expectObservable(run.settled).toBe('----(x|)', { x: 41 });
        expectObservable(run.committed).toBe('----(x|)', { x: 42 });
      });
    });

    it('a throwing join (or key) fails only its record; the others go on', async () => {
      const made = await customers();
      app = made.app;
      marbles().run(({ cold, expectObservable }) => {
        const boom = new Error('bad order');
        const run = testPipeline(
          joinTable(
            made.table,
            (order: Order, customer) => {
              if (order.qty === 3) throw boom;
              return customer.name;
            },
            {
              key: (m: Message<Order, unknown>) => {
                if (m.value.qty === 2) throw boom;
                return m.value.customer;
              },
            },
          ),
          cold('-a-b-c-d|', { ...orders, b: { customer: 'c1', qty: 2 }, d: { customer: 'c3', qty: 4 } }),
        );
        expectObservable(run.output.pipe(map((m) => m.value))).toBe('-a-----d|', { a: 'Ada', d: 'Cy' });
        expectObservable(run.failed).toBe('---b-c--|', {
          b: { partition: 0, offset: 1, error: boom },
          c: { partition: 0, offset: 2, error: boom },
        });
        expectObservable(run.settled).toBe('-a-----d|', { a: 0, d: 3 });
      });
    });

    it('unsubscribing the output unsubscribes the source', async () => {
      const made = await customers();
      app = made.app;
      marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-a-a-a|', orders);
        const run = testPipeline(
          joinTable(made.table, (order: Order) => order.qty, byCustomer),
          source,
        );
        expectObservable(run.output.pipe(map((m) => m.value)), '^--!').toBe('-a-', { a: 1 });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('a global table not restored yet fails the record with GlobalTableNotReadyError', async () => {
      app = createApp({ id: 'join-unit', broker: `memory://join-table-${++brokers}`, logger: silentLogger });
      const table = app.globalTable<Customer>('customers', { value: json() });
      const run = testPipeline(
        joinTable(table, (order: Order, customer) => customer.name, byCustomer),
        of(orders.a),
      );
      const failed = await run.failed.pipe(toArray()).toPromise();
      expect(failed!.map((f) => f.error)).to.have.length(1);
      expect(failed![0]!.error).to.be.instanceOf(GlobalTableNotReadyError);
    });
  });

  describe('with a co-partitioned table', () => {
    /** A local table (no agent: it owns partition 0 only) with c1 → 10. */
    async function limits() {
      app = createApp({ id: 'join-unit', logger: silentLogger });
      const table = app.table<number>('limits', { value: json() });
      const fill = testPipeline(
        updateTable(table, (_: number | undefined, m: Message<number, string>) => m.value),
        of(testMessage(10, { key: 'c1', partition: 0, offset: 0 })),
      );
      await fill.output.pipe(toArray()).toPromise();
      return table;
    }

    it('inner and left on the message partition; a key of another partition fails with RepartitionRequiredError', async () => {
      const table = await limits();
      const input = of(
        testMessage(orders.a, { key: 'c1', partition: 0, offset: 0 }),
        testMessage(orders.b, { key: 'c2', partition: 0, offset: 1 }), // no row
        testMessage(orders.a, { key: 'c1', partition: 1, offset: 0 }), // the table holds it in partition 0
      );
      const inner = testPipeline(
        joinTable(table, (order: Order, limit) => order.qty <= limit),
        input,
      );
      const [out, failed] = await Promise.all([
        inner.output.pipe(toArray()).toPromise(),
        inner.failed.pipe(toArray()).toPromise(),
      ]);
      expect(out!.map((m) => [m.partition, m.offset, m.value])).to.deep.equal([[0, 0, true]]);
      expect(failed!.map((f) => [f.partition, f.offset])).to.deep.equal([[1, 0]]);
      expect(failed![0]!.error).to.be.instanceOf(RepartitionRequiredError);
      expect(failed![0]!.error).to.include({ table: 'limits', messagePartition: 1, keyPartition: 0 });

      const left = testPipeline(
        joinTable(table, (order: Order, limit) => limit ?? -1, { type: 'left' }),
        of(testMessage(orders.b, { key: 'c2', partition: 0, offset: 1 })),
      );
      const leftOut = await left.output.pipe(toArray()).toPromise();
      expect(leftOut!.map((m) => m.value)).to.deep.equal([-1]);
    });
  });
});
