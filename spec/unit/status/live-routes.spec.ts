import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, createServer, get, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import type { AgentStats, Transport } from '../../../lib/index.js';
import { type LiveRoutes, liveRoutes } from '../../../lib/status/live-page/live-routes.js';
import type { LiveSnapshot } from '../../../lib/status/live-page/live-snapshot.js';
import { waitFor } from '../../../lib/testing/index.js';
import { agentStats } from '../../support/agent-stats.js';

/** Reads server-sent events from a response: each `data:` payload, parsed. */
class EventReader {
  readonly events: LiveSnapshot[] = [];
  ended = false;
  #pending = '';

  constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const blocks = (this.#pending + chunk).split('\n\n');
      this.#pending = blocks.pop()!;
      for (const block of blocks) {
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data) this.events.push(JSON.parse(data) as LiveSnapshot);
      }
    });
    response.on('end', () => (this.ended = true));
  }
}

describe('liveRoutes', () => {
  let scheduler: VirtualTimeScheduler;
  let stats: AgentStats;
  let live: LiveRoutes;
  let server: Server;
  let base: string;

  const advance = async (ms: number): Promise<void> => {
    scheduler.maxFrames += ms;
    scheduler.flush();
    await new Promise((resolve) => setImmediate(resolve));
  };

  const open = (path: string, method = 'GET'): Promise<IncomingMessage> =>
    new Promise((resolve, reject) =>
      request(`${base}${path}`, { method }, resolve).on('error', reject).end(),
    );

  const body = (response: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text));
    });

  beforeEach(async () => {
    scheduler = new VirtualTimeScheduler();
    scheduler.maxFrames = 0;
    stats = agentStats('<img src=x onerror=alert(1)>', 'orders', { received: 3, settled: 2, inFlight: 1 });
    const app = {
      id: 'shop',
      agents: [{ stats: () => stats }],
      transport: (): Promise<Transport> => Promise.reject(new Error('unused')),
    };
    live = liveRoutes(app, { intervalMs: 1000, scheduler, lag: async () => [], sinks: () => [] });
    server = createServer((req, res) => {
      if (!live.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await advance(0);
  });

  afterEach(async () => {
    live.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves one self-contained page whose only script and style are the ones its CSP allows', async () => {
    const response = await open('/');
    const html = await body(response);
    expect(response.statusCode).to.equal(200);
    expect(response.headers['content-type']).to.equal('text/html; charset=utf-8');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).to.include("default-src 'none'").and.include("connect-src 'self'");
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(scripts).to.have.length(1);
    expect(styles).to.have.length(1);
    expect(csp)
      .to.include(`script-src ${sha(scripts[0]!)}`)
      .and.include(`style-src ${sha(styles[0]!)}`);
    // Nothing from elsewhere: no src/href attribute, no CSS import or url(), no absolute URL but the SVG namespace.
    expect(html).not.to.match(/\s(src|href)=/i);
    expect(html).not.to.match(/@import|url\(/i);
    expect(html.match(/https?:\/\/[^'"\s]+/g)).to.deep.equal(['http://www.w3.org/2000/svg']);
    // Data is rendered as text, never parsed as markup.
    expect(scripts[0]).not.to.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('serves the latest snapshot on /stats.json', async () => {
    stats = { ...stats, settled: 3, inFlight: 0 };
    await advance(1000);
    const response = await open('/stats.json');
    const snapshot = JSON.parse(await body(response)) as LiveSnapshot;
    expect(response.headers['content-type']).to.equal('application/json');
    expect(snapshot).to.include({ app: 'shop', at: 1000 });
    expect(snapshot.agents[0]).to.include({ name: '<img src=x onerror=alert(1)>', settled: 3, inFlight: 0 });
  });

  it('streams a snapshot at once and one per sample on /events, and forgets a client that leaves', async () => {
    const response = await open('/events');
    expect(response.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
    const reader = new EventReader(response);
    await waitFor(() => reader.events.length === 1, { description: 'the first event' });
    expect(reader.events[0]!.at).to.equal(0);
    expect(live.openStreams).to.equal(1);

    stats = { ...stats, settled: 3 };
    await advance(1000);
    await waitFor(() => reader.events.length === 2, { description: 'the second event' });
    expect(reader.events[1]).to.include({ at: 1000 });
    expect(reader.events[1]!.agents[0]).to.include({ settled: 3 });

    response.destroy();
    await waitFor(() => live.openStreams === 0, { description: 'the stream forgotten' });
  });

  it('ends open event streams when closed, and stops sampling', async () => {
    const reader = new EventReader(await open('/events'));
    await waitFor(() => reader.events.length === 1, { description: 'the first event' });
    live.close();
    await waitFor(() => reader.ended, { description: 'the stream ended' });
    expect(live.openStreams).to.equal(0);
    expect(scheduler.actions).to.have.length(0);
  });

  it('answers HEAD on /events without holding the connection, and leaves other paths alone', async () => {
    const head = await open('/events', 'HEAD');
    await body(head);
    expect(head.statusCode).to.equal(200);
    expect(live.openStreams).to.equal(0);
    const icon = await open('/favicon.ico');
    await body(icon);
    expect(icon.statusCode).to.equal(204); // no icon, and no 404 in the browser's console
    const other = await new Promise<IncomingMessage>((resolve) => get(`${base}/metrics`, resolve));
    expect(other.statusCode).to.equal(404);
    await body(other);
  });
});
