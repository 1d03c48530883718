import { expect } from 'chai';
import { of, toArray } from 'rxjs';
import {
  TableUpdateOrderError,
  combineMessages,
  createApp,
  json,
  mergeMapValue,
  silentLogger,
  updateTable,
  type Message,
} from '../../../lib/index.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import { eachKey } from '../../../lib/tables/each-key.js';
import { bufferCount, map } from 'rxjs';

interface Order {
  readonly qty: number;
}

function table() {
  const app = createApp({ id: 'unit', logger: silentLogger });
  return app.table<number>('totals', { value: json(), default: () => 0 });
}

const order = (qty: number, offset: number, key = 'ada', partition = 0) =>
  testMessage<Order, string>({ qty }, { key, offset, partition });

describe('updateTable under testPipeline (no agent: a local table)', () => {
  it('applies in arrival order; each message sees the previous results; emits key, new value, input', async () => {
    const totals = table();
    const run = testPipeline(
      (order$) =>
        order$.pipe(updateTable(totals, (sum: number, m: Message<Order, string>) => sum * 10 + m.value.qty)),
      of(order(1, 0), order(2, 1), order(3, 2), order(4, 3, 'bob')),
    );
    const out = await run.output.pipe(toArray()).toPromise();
    expect(out!.map((m) => m.value)).to.deep.equal([
      { key: 'ada', value: 1, input: { qty: 1 }, replayed: false },
      { key: 'ada', value: 12, input: { qty: 2 }, replayed: false },
      { key: 'ada', value: 123, input: { qty: 3 }, replayed: false },
      { key: 'bob', value: 4, input: { qty: 4 }, replayed: false },
    ]);
    expect(totals.get('ada')).to.equal(123);
    expect(totals.get('nobody')).to.equal(0); // the default
    expect(totals.ownsKey('anything')).to.equal(true);
  });

  it('eachKey goes through every key of a partition and its value, past a page of keys', async () => {
    const totals = table();
    const orders = Array.from({ length: 2500 }, (_, i) => order(i, i, `k${i}`));
    const run = testPipeline(
      (order$) =>
        order$.pipe(updateTable(totals, (sum: number, m: Message<Order, string>) => sum + m.value.qty)),
      of(...orders),
    );
    await run.output.pipe(toArray()).toPromise();
    await new Promise((resolve) => setImmediate(resolve)); // acknowledged changes reach the store in microtasks
    const seen = new Map<string, number>();
    eachKey(totals, 0, (key, value) => seen.set(key, value));
    expect(seen.size).to.equal(2500);
    expect([seen.get('k0'), seen.get('k1234'), seen.get('k2499')]).to.deep.equal([0, 1234, 2499]);
  });

  it('a throwing update leaves the table unchanged and fails the message; its retry applies it once', async () => {
    const totals = table();
    let throwOnce = true;
    const pipeline = (order$: import('rxjs').Observable<Message<Order, string>>) =>
      order$.pipe(
        updateTable(totals, (sum: number, m: Message<Order, string>) => {
          if (m.offset === 1 && throwOnce) {
            throwOnce = false;
            throw new Error('boom');
          }
          return sum + m.value.qty;
        }),
      );
    const first = testPipeline(pipeline, of(order(1, 0), order(2, 1), order(4, 2)));
    const failed = await first.failed.pipe(toArray()).toPromise();
    expect(failed!.map((f) => f.offset)).to.deep.equal([1]);
    expect(totals.get('ada')).to.equal(5);
    // The agent delivers offset 1 again (and, after a crash, 0 and 2 too): only 1 is applied.
    const again = testPipeline(pipeline, of(order(1, 0), order(2, 1), order(4, 2)));
    const out = await again.output.pipe(toArray()).toPromise();
    expect(out!.map((m) => [m.offset, m.value.replayed, m.value.value])).to.deep.equal([
      [0, true, 5], // the table's value when it arrived
      [1, false, 7],
      [2, true, 7],
    ]);
    expect(totals.get('ada')).to.equal(7);
  });

  it('the same offset in another partition is another record', async () => {
    const totals = table();
    const run = testPipeline(
      (order$) =>
        order$.pipe(updateTable(totals, (sum: number, m: Message<Order, string>) => sum + m.value.qty)),
      of(order(1, 0, 'ada', 0), order(2, 0, 'ada', 1)),
    );
    await run.output.pipe(toArray()).toPromise();
    expect(totals.get('ada')).to.equal(3);
  });

  it('fails an aggregate and a fan-out copy with TableUpdateOrderError, applying nothing for them', async () => {
    const totals = table();
    const aggregate = testPipeline(
      (order$) =>
        order$.pipe(
          bufferCount(2),
          map((batch) => combineMessages(batch, { qty: 100 })),
          updateTable(totals, (sum: number, m: Message<Order, string>) => sum + m.value.qty),
        ),
      of(order(1, 0), order(2, 1)),
    );
    const aggregateFailures = await aggregate.failed.pipe(toArray()).toPromise();
    expect(aggregateFailures!.map((f) => f.error)).to.have.length(2);
    expect(aggregateFailures![0]!.error).to.be.instanceOf(TableUpdateOrderError);
    const fanOut = testPipeline(
      (order$) =>
        order$.pipe(
          mergeMapValue((o: Order) => [o, o]),
          updateTable(totals, (sum: number, m: Message<Order, string>) => sum + m.value.qty),
        ),
      of(order(5, 3)),
    );
    const fanOutFailures = await fanOut.failed.pipe(toArray()).toPromise();
    expect(fanOutFailures![0]!.error).to.be.instanceOf(TableUpdateOrderError);
    expect(String(fanOutFailures![0]!.error)).to.match(/twice in one attempt/);
    expect(totals.get('ada')).to.equal(5); // the first copy was applied, not the second
  });
});
