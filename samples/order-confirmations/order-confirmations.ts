/**
 * Order confirmations: every order on `orders` becomes a confirmation e-mail, POSTed to an e-mail
 * service. 16 requests in flight, retried with backoff on 5xx/429/timeouts, an Idempotency-Key per order
 * record so a retry never sends twice; a request the service refuses (4xx) goes to `orders.dlq`.
 */
import type { Observable } from 'rxjs';
import { type Message, createApp, json } from 'rivulet';
import { type HttpClientLike, toHttp } from 'rivulet/http';
import { Order } from '../orders/orders.js';

/** The agent: orders → POST /send. The HTTP client (an axios instance) is passed in. */
export const confirmOrders =
  (emailer: HttpClientLike) => (order$: Observable<Message<Order, string | null>>) =>
    order$.pipe(
      toHttp(
        emailer,
        ({ value: o }) => ({
          method: 'POST',
          url: '/send',
          data: {
            user: o.user,
            subject: 'Order Confirmation',
            body: `Order: ${o.quantity} shares of ${o.symbol}`,
          },
        }),
        { concurrency: 16, timeoutMs: 5000 },
      ),
    );

export function createOrderConfirmationsApp(options: { broker: string; emailer: HttpClientLike }) {
  const app = createApp({ id: 'order-confirmations', broker: options.broker });
  const orders = app.topic('orders', { value: json(Order), partitions: 4 });
  app.agent('confirm-orders', orders, confirmOrders(options.emailer));
  return { app, orders };
}
