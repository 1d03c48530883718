import axios from 'axios';
import { expect } from 'chai';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEAD_LETTER_HEADERS, type Message, createApp, silentLogger } from '../../../lib/index.js';
import { toHttp } from '../../../lib/http.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { uniqueName } from '../support/services.js';

interface Order {
  readonly id: number;
  /** How the server treats the first request for this order. */
  readonly first: 'ok' | '500' | '429' | 'hang' | '400';
}

/** A real HTTP server that misbehaves once per order as the order asks (and always for `400`). */
async function startMailer() {
  const seen = new Map<number, number>();
  const delivered = new Map<number, string>(); // id → idempotency key of the accepted request
  const answers: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const order = JSON.parse(body) as Order;
      const attempt = (seen.get(order.id) ?? 0) + 1;
      seen.set(order.id, attempt);
      const mode = order.first === '400' ? '400' : attempt === 1 ? order.first : 'ok';
      answers.push(mode);
      if (mode === 'hang') return; // never answers: the client times out
      if (mode === '500') return void response.writeHead(500).end('boom');
      if (mode === '429') return void response.writeHead(429, { 'Retry-After': '1' }).end('slow down');
      if (mode === '400') return void response.writeHead(400).end('bad order');
      delivered.set(order.id, String(request.headers['idempotency-key']));
      response.writeHead(202, { 'content-type': 'application/json' }).end('{"queued":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}`, seen, delivered, answers, close };
}

const modes: Order['first'][] = ['ok', '500', 'ok', '429', 'ok', 'hang', 'ok', '400'];

describe('toHttp against a real HTTP server', function () {
  this.timeout(120_000);

  it('delivers every order at least once through 500s, 429s and hung requests; 4xx land on <topic>.dlq', async () => {
    const mailer = await startMailer();
    const emailer = axios.create({ baseURL: mailer.url });
    const app = createApp({
      id: uniqueName('confirm'),
      broker: `memory://${uniqueName('http')}`,
      logger: silentLogger,
    });
    const orders = app.topic<Order>(uniqueName('orders'), { partitions: 3 });
    app.agent(
      'confirm-orders',
      orders,
      (order$) =>
        order$.pipe(
          toHttp(emailer, ({ value: o }) => ({ method: 'POST', url: '/send', data: o }), {
            concurrency: 16,
            timeoutMs: 500,
            retry: { retries: 4, backoff: { initialDelayMs: 50, maxDelayMs: 500 } },
          }),
        ),
      { errors: { retries: 3, backoff: { initialDelayMs: 50 } } },
    );
    const deadLetters: Message<unknown, string | null>[] = [];
    const dlq = app.topic(`${orders.name}.dlq`).subscribe((message) => deadLetters.push(message));
    const count = 200;
    const all = Array.from({ length: count }, (_v, id): Order => ({ id, first: modes[id % modes.length]! }));
    try {
      await app.start();
      await orders.sendMany(all.map((order) => ({ key: `user-${order.id % 17}`, value: order })));
      await waitForCommitted(app, { timeoutMs: 60_000 });
      const bad = all.filter((order) => order.first === '400');
      await waitFor(() => deadLetters.length >= bad.length, {
        timeoutMs: 10_000,
        description: 'dead letters',
      });

      for (const order of all.filter((o) => o.first !== '400'))
        expect(mailer.delivered.has(order.id), `order ${order.id} delivered`).to.equal(true);
      // the server really misbehaved as planned
      for (const mode of ['500', '429', 'hang', '400']) expect(mailer.answers).to.include(mode);
      // 4xx: not retried, dead-lettered with the error in the headers
      for (const order of bad) expect(mailer.seen.get(order.id), `order ${order.id} tried once`).to.equal(1);
      const lettered = deadLetters.map((m) => (m.value as Order).id).sort((a, b) => a - b);
      expect(lettered).to.deep.equal(bad.map((o) => o.id));
      expect(deadLetters[0]!.headers[DEAD_LETTER_HEADERS.errorName]).to.equal('SinkError');
      expect(deadLetters[0]!.headers[DEAD_LETTER_HEADERS.error]).to.contain('answered 400');
      // idempotency keys: topic/partition/offset, one per record
      const keys = [...mailer.delivered.values()];
      expect(new Set(keys).size).to.equal(keys.length);
      for (const key of keys) expect(key).to.match(new RegExp(`^${orders.name}/[0-2]/\\d+$`));
    } finally {
      dlq.unsubscribe();
      await app.stop();
      await mailer.close();
    }
  });
});
