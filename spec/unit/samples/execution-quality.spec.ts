import { expect } from 'chai';
import { map } from 'rxjs';
import type { InfluxQLQuery, InfluxRow } from '../../../lib/influx.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import {
  OUTLIER_BPS,
  checkExecutions,
  report,
} from '../../../samples/execution-quality/execution-quality.js';
import type { Order } from '../../../samples/orders/orders.js';
import { marbles } from '../../support/marbles.js';

const order = (id: string, symbol: string, price: number): Order => ({
  id,
  user: 'u1',
  symbol,
  quantity: 1,
  price,
  executedAt: new Date('2024-05-01T09:30:00Z'),
});

describe('sample: execution quality', () => {
  it('reports slippage in basis points and flags what is beyond the threshold', () => {
    expect(report(order('a', 'ACME', 101), [{ last: 100 }])).to.include({ slippageBps: 100, outlier: false });
    expect(report(order('b', 'ACME', 101.5), [{ last: 100 }])).to.include({
      slippageBps: 150,
      outlier: true,
    });
    expect(report(order('c', 'ACME', 95), [{ last: 100 }])).to.include({ slippageBps: -500, outlier: true });
    expect(report(order('d', 'ACME', 95), [])).to.include({
      marketPrice: null,
      slippageBps: null,
      outlier: false,
    });
    expect(OUTLIER_BPS).to.equal(100);
  });

  it('queries the price at execution time with escaped values and emits a report per order', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const queries: string[] = [];
      const influx = {
        query: (query: InfluxQLQuery) => {
          queries.push(query.text);
          return cold<readonly InfluxRow[]>('--(r|)', { r: [{ time: 0, last: 100 }] });
        },
      };
      const run = testPipeline(
        checkExecutions(influx),
        cold('a|', { a: testMessage(order('o1', "AC'ME", 102), { offset: 4 }) }),
      );
      expectObservable(run.output.pipe(map((m) => [m.offset, m.value.slippageBps, m.value.outlier]))).toBe(
        '--(a|)',
        { a: [4, 200, true] },
      );
      expectObservable(run.settled).toBe('--(a|)', { a: 4 });
      flush();
      expect(queries).to.deep.equal([
        "SELECT last(price) FROM marketdata WHERE symbol = 'AC\\'ME' AND time <= '2024-05-01T09:30:00.000Z'",
      ]);
    });
  });
});
