import { expect } from 'chai';
import type { HttpRequestConfig } from '../../../lib/http.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import { confirmOrders } from '../../../samples/order-confirmations/order-confirmations.js';
import type { Order } from '../../../samples/orders/orders.js';
import { marbles } from '../../support/marbles.js';

const order = (n: number): Order => ({
  id: `o${n}`,
  user: `user-${n}`,
  symbol: 'ACME',
  quantity: n,
  price: 10,
  executedAt: new Date(0),
});

describe('sample: order confirmations (marbles)', () => {
  it('POSTs one confirmation per order with an Idempotency-Key, and settles each when its request succeeded', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const requests: HttpRequestConfig[] = [];
      const durations = ['---(r|)', '-(r|)'];
      const emailer = {
        request: (config: HttpRequestConfig) =>
          cold(durations[requests.push(config) - 1]!, { r: { status: 202 } }),
      };
      const run = testPipeline(
        confirmOrders(emailer),
        cold('ab|', { a: testMessage(order(3), { offset: 7 }), b: testMessage(order(5), { offset: 8 }) }),
      );
      expectObservable(run.settled).toBe('--b(a|)', { a: 7, b: 8 });
      flush();
      expect(requests.map((r) => [r.method, r.url, r.data, r.headers?.['Idempotency-Key']])).to.deep.equal([
        [
          'POST',
          '/send',
          { user: 'user-3', subject: 'Order Confirmation', body: 'Order: 3 shares of ACME' },
          'test/0/7',
        ],
        [
          'POST',
          '/send',
          { user: 'user-5', subject: 'Order Confirmation', body: 'Order: 5 shares of ACME' },
          'test/0/8',
        ],
      ]);
    });
  });
});
