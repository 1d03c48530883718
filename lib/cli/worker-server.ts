import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppMetrics } from '../metrics/app-metrics.js';
import type { LiveFeedOptions } from '../status/live-page/live-feed.js';
import { type LiveRoutes, liveRoutes } from '../status/live-page/live-routes.js';
import { health } from './health.js';
import { tableRoutes, tablesOf } from './table-routes.js';
import type { WorkerApp } from './load-app.js';

/** A listening `/metrics` + `/healthz` + `/tables` + live page server, from {@link serveWorker}. @internal */
export interface WorkerServer {
  /** The port it listens on (the one picked when asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves an app's Prometheus metrics on `/metrics`, its health on `/healthz` (200 with the agents'
 * states while they all run, 503 otherwise), its tables on `/tables/<name>[/<key>]` (JSON, see
 * {@link tableRoutes}) and its live page on `/` (with `/events` and `/stats.json`, sampled every
 * `live.intervalMs`).
 *
 * @example
 * ```ts
 * const server = await serveWorker(app, appMetrics(app), { port: 0 });
 * console.log(`http://localhost:${server.port}/metrics`);
 * ```
 */
export async function serveWorker(
  app: WorkerApp,
  metrics: AppMetrics,
  options: { readonly port: number; readonly host?: string; readonly live?: LiveFeedOptions },
): Promise<WorkerServer> {
  const live = liveRoutes(app, options.live);
  const server: Server = createServer((request, response) => {
    void respond(app, metrics, live, request, response);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    live.close();
    throw error;
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        live.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function respond(
  app: WorkerApp,
  metrics: AppMetrics,
  live: LiveRoutes,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://worker').pathname;
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (live.handle(request, response)) {
      return;
    } else if (await tableRoutes(tablesOf(app), request, response)) {
      return;
    } else if (path === '/metrics') {
      const text = await metrics.metrics();
      response.writeHead(200, { 'content-type': metrics.contentType }).end(text);
    } else if (path === '/healthz') {
      const report = health(app);
      response
        .writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify(report));
    } else {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('try /, /metrics, /healthz or /tables/<name>\n');
    }
  } catch (error) {
    response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
}
