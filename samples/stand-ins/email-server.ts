/**
 * A stand-in e-mail service, a real HTTP server on localhost: `POST /send` records the e-mail and
 * answers 202; every `failEvery`-th request gets a 503 first, to show retries at work. Repeated
 * Idempotency-Keys are answered 202 without sending twice.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Email {
  readonly user: string;
  readonly subject: string;
  readonly body: string;
}

export class EmailServerStandIn {
  readonly sent = new Map<string, Email>();
  requests = 0;
  #server: Server | undefined;

  constructor(private readonly failEvery = 50) {}

  /** Starts listening on a free port; resolves to the base URL. */
  async start(): Promise<string> {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        this.requests++;
        if (request.method !== 'POST' || request.url !== '/send') {
          response.writeHead(404).end();
        } else if (this.failEvery > 0 && this.requests % this.failEvery === 0) {
          response.writeHead(503, { 'retry-after': '0' }).end();
        } else {
          const key = String(request.headers['idempotency-key'] ?? this.requests);
          if (!this.sent.has(key)) this.sent.set(key, JSON.parse(body) as Email);
          response.writeHead(202, { 'content-type': 'application/json' }).end('{"queued":true}');
        }
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // keep-alive sockets of the client would hold close() open
    await closed;
  }
}
