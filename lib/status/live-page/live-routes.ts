import type { IncomingMessage, ServerResponse } from 'node:http';
import { Subscription } from 'rxjs';
import { LiveFeed, type LiveApp, type LiveFeedOptions } from './live-feed.js';
import { LIVE_PAGE_CSP, LIVE_PAGE_HTML } from './live-page-html.js';

/**
 * The live page's routes, from {@link liveRoutes}.
 *
 * @example
 * ```ts
 * const live: LiveRoutes = liveRoutes(app);
 * http.createServer((req, res) => live.handle(req, res) || res.writeHead(404).end());
 * ```
 */
export interface LiveRoutes {
  readonly feed: LiveFeed;
  /** Event streams open right now. */
  readonly openStreams: number;
  /** Answers `GET /`, `/events`, `/stats.json` (and `/favicon.ico`: none); returns false (and does nothing) for other paths. */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  /** Stops sampling and ends every open event stream. Safe to call twice. */
  close(): void;
}

/** How often an idle event stream sends a comment line, so proxies keep it open. */
const KEEPALIVE_MS = 15_000;

/**
 * The worker's live page: `GET /` is one self-contained HTML page (inline CSS, script and SVG; no
 * external resource, a strict Content-Security-Policy) that renders the {@link LiveSnapshot}s it
 * receives on `GET /events` (server-sent events, one per sample); `GET /stats.json` returns the latest
 * snapshot once.
 *
 * @example
 * ```ts
 * const live = liveRoutes(app, { intervalMs: 1000 });
 * const server = http.createServer((req, res) => {
 *   if (!live.handle(req, res)) res.writeHead(404).end();
 * });
 * server.on('close', () => live.close());
 * ```
 */
export function liveRoutes(app: LiveApp, options: LiveFeedOptions = {}): LiveRoutes {
  const feed = new LiveFeed(app, options);
  const streams = new Set<ServerResponse>();

  const events = (request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    streams.add(response);
    const subscription = new Subscription();
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const finish = (): void => {
      clearInterval(keepalive);
      subscription.unsubscribe();
      streams.delete(response);
    };
    response.once('close', finish);
    subscription.add(
      feed.snapshots.subscribe({
        next: (snapshot) => response.write(`data: ${JSON.stringify(snapshot)}\n\n`),
        complete: () => {
          finish();
          response.end();
        },
      }),
    );
  };

  return {
    feed,
    get openStreams() {
      return streams.size;
    },
    handle(request, response) {
      const path = new URL(request.url ?? '/', 'http://worker').pathname;
      if (path === '/' || path === '/index.html') {
        response
          .writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': LIVE_PAGE_CSP,
            'x-content-type-options': 'nosniff',
            'cache-control': 'no-store',
          })
          .end(LIVE_PAGE_HTML);
      } else if (path === '/events') {
        events(request, response);
      } else if (path === '/favicon.ico') {
        response.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
      } else if (path === '/stats.json') {
        response
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify(feed.latest));
      } else {
        return false;
      }
      return true;
    },
    close() {
      feed.close();
      for (const response of streams) response.end();
      streams.clear();
    },
  };
}
