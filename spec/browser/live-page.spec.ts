import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import { Subject, map, take, throwError, timer } from 'rxjs';
import { serveWorker, type WorkerServer } from '../../lib/cli/worker-server.js';
import {
  type App,
  type PartitionStats,
  commitLag,
  createApp,
  json,
  mergeMapValue,
  silentLogger,
  sink,
  totalLag,
  updateTable,
} from '../../lib/index.js';
import { type AppMetrics, appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { launchChromium } from './support/chromium.js';
import { type ShownAgent, type ShownPage, type ShownSink, readPage } from './support/read-page.js';

interface Order {
  readonly id: number;
  /** Never settles until the test releases it: keeps a message in flight and its partition stuck. */
  readonly hang?: boolean;
}

interface Quote {
  readonly symbol: string;
  readonly price: number;
}

const STALL_TIMEOUT_MS = 300;
const ORDERS = 300;
const QUOTES = 40;
/** Set to regenerate the README's screenshot: LIVE_PAGE_SCREENSHOT=docs/images/live-page.png. */
const SCREENSHOT = process.env.LIVE_PAGE_SCREENSHOT;

let brokers = 0;
const memoryBroker = () => `memory://live-page-${process.pid}-${++brokers}`;

/** A worker app on memory:// served as `rivulet worker` serves it, sampled every 100 ms. */
async function serve(app: App): Promise<{ server: WorkerServer; metrics: AppMetrics; url: string }> {
  const metrics = appMetrics(app);
  const server = await serveWorker(app, metrics, {
    port: 0,
    host: '127.0.0.1',
    live: { intervalMs: 100, stallTimeoutMs: STALL_TIMEOUT_MS },
  });
  return { server, metrics, url: `http://127.0.0.1:${server.port}/` };
}

/** Opens a page that records its errors (a script error, a CSP violation) in `errors`. */
async function openPage(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  return page;
}

/** Waits until the page renders a snapshot sampled after `time` (ms since the epoch). */
async function waitForSampleAfter(page: Page, time: number): Promise<void> {
  await page.waitForFunction(
    (after: number) =>
      Number(
        (
          globalThis as unknown as {
            document: { querySelector(s: string): { getAttribute(a: string): string } | null };
          }
        ).document
          .querySelector('[data-snapshot-at]')
          ?.getAttribute('data-snapshot-at') ?? 0,
      ) > after,
    { timeout: 10_000 },
    time,
  );
}

/** What the page should show: the app's own stats, commit lag as the broker tells it, and the sinks' health. */
async function expectedPage(app: App): Promise<Omit<ShownPage, 'at' | 'agents'> & { agents: ShownAgent[] }> {
  const transport = await app.transport();
  const agents = await Promise.all(
    app.agents.map(async (agent): Promise<ShownAgent> => {
      const stats = agent.stats();
      const lags = await commitLag(transport, stats.group, stats.topic);
      return {
        name: stats.name,
        state: stats.state,
        received: stats.received,
        settled: stats.settled,
        inFlight: stats.inFlight,
        lag: totalLag(lags),
        retried: stats.retried,
        deadLettered: stats.deadLettered,
        held: stats.held,
        restarts: stats.restarts,
        partitions: [...stats.partitions]
          .sort((a, b) => a.partition - b.partition)
          .map((p) => {
            const lag = lags.find((l) => l.partition === p.partition)!;
            return {
              partition: p.partition,
              committed: p.committed < 0 ? null : p.committed, // shown as "none"
              inFlight: p.inFlight,
              end: lag.end,
              lag: lag.lag,
              stuck: p.oldestUnsettledMs >= STALL_TIMEOUT_MS,
            };
          }),
        sparkPoints: [],
      };
    }),
  );
  const sinks = app.sinkHealth().map((s): ShownSink => ({
    name: s.name,
    agent: s.agent,
    state: s.state,
    failedAttempts: s.failedAttempts,
    lastError: s.state === 'failing' ? (s.lastError ?? '') : '',
    highlighted: s.state === 'failing',
  }));
  return { agents, sinks };
}

describe('the worker live page, in headless chromium', () => {
  let browser: Browser;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("shows the app's own numbers, highlights the stuck partition and the failing sink", async () => {
    const app = createApp({
      id: 'shop',
      broker: memoryBroker(),
      logger: silentLogger,
      shutdownTimeoutMs: 2000,
    });
    const orders = app.topic<Order>('orders', { partitions: 3 });
    const quotes = app.topic<Quote>('quotes', { partitions: 2 });
    const release = new Subject<void>();
    // Slow: 5 ms per order, 4 at a time; the order marked `hang` waits for the end of the test.
    app.agent(
      'confirm-orders',
      orders,
      (order$) =>
        order$.pipe(
          mergeMapValue(
            (order) =>
              order.hang
                ? release.pipe(
                    take(1),
                    map(() => order),
                  )
                : timer(5).pipe(map(() => order)),
            { concurrency: 4 },
          ),
        ),
      { stallTimeoutMs: STALL_TIMEOUT_MS },
    );
    // Its Redis is down: every write fails; the agent holds the quotes and keeps trying.
    const redisDown = sink<Quote, string | null>(
      () =>
        throwError(() =>
          Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
        ),
      { name: 'redis', retry: { retries: 1, backoff: { initialDelayMs: 1, maxDelayMs: 2 } } },
    );
    app.agent('cache-quotes', quotes, (quote$) => quote$.pipe(redisDown), {
      errors: { retries: 1, backoff: { initialDelayMs: 1, maxDelayMs: 5 } },
    });
    await app.start();
    cleanups.push(async () => {
      release.next();
      await app.stop();
    });
    const { server, metrics, url } = await serve(app);
    cleanups.push(
      () => metrics.close(),
      () => server.close(),
    );
    const errors: string[] = [];
    const page = await openPage(browser, url, errors);
    cleanups.push(() => page.close());

    await orders.sendMany(
      Array.from({ length: ORDERS }, (_, id) => ({ key: `user-${id % 17}`, value: { id } })),
    );
    await orders.send({ id: ORDERS, hang: true }, { partition: 1 });
    await quotes.sendMany(
      Array.from({ length: QUOTES }, (_, i) => ({
        key: `SYM${i % 5}`,
        value: { symbol: `SYM${i % 5}`, price: i },
      })),
    );

    // The input has stopped: wait until the app is quiet (everything received; the orders settled but
    // the hung one; commits caught up; every waiting partition already stuck), so its numbers hold still.
    // The quotes are held while their sink is down (an outage is not dead-lettered).
    const caughtUp = (p: PartitionStats) =>
      p.committable === undefined || p.committable <= Math.max(p.committed, 0);
    const settledStuck = (p: PartitionStats) => p.inFlight === 0 || p.oldestUnsettledMs >= STALL_TIMEOUT_MS;
    await waitFor(
      () => {
        const [confirm, cache] = app.agents.map((agent) => agent.stats());
        return (
          confirm!.received === ORDERS + 1 &&
          confirm!.inFlight === 1 &&
          cache!.received === QUOTES &&
          cache!.held === QUOTES &&
          [confirm!, cache!].every((a) => a.partitions.every((p) => caughtUp(p) && settledStuck(p))) &&
          app.sinkHealth().some((s) => s.name === 'redis' && s.state === 'failing')
        );
      },
      { timeoutMs: 15_000, description: 'the app to be quiet' },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(app.agents.map((agent) => agent.stats()))}`);
    });
    const attemptsBefore = app.sinkHealth()[0]!.failedAttempts;
    const quietAt = Date.now();
    await waitForSampleAfter(page, quietAt);

    const shown = await readPage(page);
    const expected = await expectedPage(app);
    expect(shown.at).to.be.greaterThan(quietAt);
    // A failing sink keeps trying while the page is read: its count may only have grown meanwhile.
    const attemptsShown = shown.sinks[0]?.failedAttempts ?? -1;
    expect(attemptsShown).to.be.within(attemptsBefore, expected.sinks[0]!.failedAttempts!);
    expect({
      agents: shown.agents.map((agent) => ({ ...agent, sparkPoints: [] })),
      sinks: shown.sinks.map((s) => ({ ...s, failedAttempts: null })),
    }).to.deep.equal({ ...expected, sinks: expected.sinks.map((s) => ({ ...s, failedAttempts: null })) });

    // The comparison is not vacuous: the page shows what this app is made to show.
    const [confirm, cache] = expected.agents;
    expect(confirm).to.include({ received: ORDERS + 1, settled: ORDERS, inFlight: 1, lag: 1 });
    expect(confirm!.partitions.map((p) => p.stuck)).to.deep.equal([false, true, false]);
    expect(cache).to.include({
      received: QUOTES,
      held: QUOTES,
      inFlight: QUOTES,
      settled: 0,
      deadLettered: 0,
    });
    expect(expected.sinks).to.deep.equal([
      {
        name: 'redis',
        agent: 'cache-quotes',
        state: 'failing',
        failedAttempts: expected.sinks[0]?.failedAttempts,
        lastError: 'connect ECONNREFUSED 127.0.0.1:6379',
        highlighted: true,
      },
    ]);
    expect(expected.sinks[0]!.failedAttempts).to.be.greaterThan(0);
    // Sparklines are drawn from the history (several samples already).
    for (const agent of shown.agents) expect(Math.min(...agent.sparkPoints)).to.be.greaterThan(1);
    expect(errors).to.deep.equal([]);

    if (SCREENSHOT) {
      await mkdir(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT as `${string}.png`, fullPage: true });
    }
  });

  it("shows each table's keys per partition as table.stats() counts them", async () => {
    const app = createApp({ id: 'counter', broker: memoryBroker(), logger: silentLogger });
    const orders = app.topic<Order>('orders', { partitions: 3 });
    const counts = app.table<number>('counts', { value: json(), default: () => 0 });
    app.agent('count', orders, (order$) => order$.pipe(updateTable(counts, (n) => n + 1)), {
      commitIntervalMs: 1,
    });
    await app.start();
    cleanups.push(() => app.stop());
    const { server, metrics, url } = await serve(app);
    cleanups.push(
      () => metrics.close(),
      () => server.close(),
    );
    await orders.sendMany(
      Array.from({ length: 200 }, (_, id) => ({ key: `user-${id % 23}`, value: { id } })),
    );
    await waitForCommitted(app);
    const quietAt = Date.now();
    const errors: string[] = [];
    const page = await openPage(browser, url, errors);
    cleanups.push(() => page.close());
    await waitForSampleAfter(page, quietAt);

    const shown = (await page.evaluate(
      `[...document.querySelectorAll('tr[data-table]')].map((row) => {
        const text = (field) => row.querySelector('[data-field="' + field + '"]').textContent;
        return { name: text('name'), state: text('state'), keys: Number(text('keys').replace(/,/g, '')), partitions: text('partitions') };
      })`,
    )) as { name: string; state: string; keys: number; partitions: string }[];
    const stats = counts.stats();
    const keys = stats.partitions.reduce((sum, p) => sum + p.keys, 0);
    expect(keys).to.equal(23);
    expect(shown).to.deep.equal([
      {
        name: 'counts',
        state: 'ready',
        keys,
        partitions: stats.partitions.map((p) => `p${p.partition} ${p.keys}`).join(' · '),
      },
    ]);
    // The agent's consumer group as this worker sees it: one join, all three partitions gained.
    const group = (await page.evaluate(
      `(() => {
        const line = document.querySelector('[data-agent="count"] [data-membership]');
        const text = (field) => { const node = line.querySelector('[data-field="' + field + '"]'); return node ? node.textContent : null; };
        return { generation: text('generation'), partitions: text('groupPartitions'), rebalances: text('rebalances'),
          gained: text('gained'), lost: text('lost'), state: text('groupState') };
      })()`,
    )) as Record<string, string | null>;
    const membership = app.agents[0]!.stats().membership!;
    expect(membership).to.include({ state: 'stable', partitions: 3, rebalances: 1, partitionsGained: 3 });
    expect(group).to.deep.equal({
      generation: String(membership.generation),
      partitions: '3',
      rebalances: '1',
      gained: '3',
      lost: '0',
      state: null, // no badge while stable
    });
    expect(errors).to.deep.equal([]);
  });

  it('renders names as text (never as markup) and says when the worker goes away', async () => {
    const name = '<img src=x onerror="globalThis.pwned=1">&amp; "agent"';
    const topicName = 'orders<script>globalThis.pwned=2</script>';
    const app = createApp({ id: '<b>app</b>', broker: memoryBroker(), logger: silentLogger });
    app.agent(name, app.topic<Order>(topicName), (order$) => order$);
    await app.start();
    cleanups.push(() => app.stop());
    const { server, metrics, url } = await serve(app);
    cleanups.push(() => metrics.close());
    const errors: string[] = [];
    const page = await openPage(browser, url, errors);
    cleanups.push(() => page.close());
    await waitForSampleAfter(page, 0);

    const shown = await readPage(page);
    expect(shown.agents.map((agent) => agent.name)).to.deep.equal([name]);
    const dom = (await page.evaluate(
      `({ title: document.title, heading: document.getElementById('app').textContent,
          topic: document.querySelector('[data-agent] .topic').textContent,
          images: document.querySelectorAll('img, b, main script').length, pwned: globalThis.pwned })`,
    )) as { title: string; heading: string; topic: string; images: number; pwned?: number };
    expect(dom).to.deep.equal({
      title: '<b>app</b> – rivulet',
      heading: '<b>app</b>',
      topic: `${topicName} → group <b>app</b>.${name}`,
      images: 0,
    });
    expect(errors).to.deep.equal([]);

    await server.close();
    await page.waitForFunction(`document.getElementById('meta').textContent.startsWith('disconnected')`, {
      timeout: 10_000,
    });
  });
});
