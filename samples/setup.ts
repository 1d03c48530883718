/**
 * Builds the four sample apps for `npm start` and the end-to-end specs: on `memory://samples` unless
 * KAFKA_URL is set, with real Redis / e-mail / InfluxDB when their URLs are set and local stand-ins
 * otherwise (and it says which).
 */
import axios from 'axios';
import { Redis } from 'ioredis';
import type { App } from '../lib/index.js';
import { type Activity, createFeedApp, generateActivities } from './feed-cache/feed-cache.js';
import { type Report, createExecutionQualityApp } from './execution-quality/execution-quality.js';
import { influxQLClient } from '../lib/influx.js';
import { createOrderConfirmationsApp } from './order-confirmations/order-confirmations.js';
import { type Order, SYMBOLS, generateOrders } from './orders/orders.js';
import {
  type Book,
  type Fill,
  type PositionAlert,
  createPositionsApp,
  generateFills,
} from './positions/positions.js';
import { EmailServerStandIn } from './stand-ins/email-server.js';
import { MarketDataStandIn, marketDataLines } from './stand-ins/market-data.js';
import { SortedSetsStandIn } from './stand-ins/sorted-sets.js';

export interface SampleEnv {
  readonly KAFKA_URL?: string;
  readonly REDIS_URL?: string;
  readonly EMAIL_URL?: string;
  readonly INFLUX_URL?: string;
  readonly INFLUX_DB?: string;
}

export interface Generated {
  readonly activities: readonly Activity[];
  readonly orders: readonly Order[];
  readonly fills: readonly Fill[];
}

export interface Samples {
  readonly apps: readonly App[];
  /** One line per sample: the broker and which real service or stand-in it uses. */
  describe(): string[];
  /**
   * Sends the generated activities, orders and fills (as many as orders unless told), in chunks, until
   * done or `stopped()` says so.
   */
  generate(activities: number, orders: number, stopped?: () => boolean, fills?: number): Promise<Generated>;
  /** The positions sample's last table snapshot (taken every second and as its app stops) and its alerts. */
  positions(): { readonly books: ReadonlyMap<string, Book>; readonly alerts: readonly PositionAlert[] };
  /** What the samples produced, in a few lines. */
  results(): Promise<string[]>;
  close(): Promise<void>;
}

export async function setupSamples(env: SampleEnv, options: { brokerName?: string } = {}): Promise<Samples> {
  const broker = env.KAFKA_URL ?? `memory://${options.brokerName ?? 'samples'}`;
  const lines: string[] = [`broker: ${broker.startsWith('memory') ? `${broker} (embedded)` : 'Kafka'}`];
  const closers: (() => Promise<unknown>)[] = [];

  // feed cache → Redis
  const standInSets = env.REDIS_URL ? undefined : new SortedSetsStandIn();
  const redis = env.REDIS_URL
    ? new Redis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
    : undefined;
  if (redis) closers.push(async () => redis.disconnect());
  const feed = createFeedApp({ broker, redis: redis ?? standInSets! });
  lines.push(
    `feed cache: Redis ${redis ? 'at REDIS_URL' : '→ in-process sorted-set stand-in (set REDIS_URL for a real one)'}`,
  );

  // order confirmations → e-mail service over HTTP
  const emailStandIn = env.EMAIL_URL ? undefined : new EmailServerStandIn();
  const emailUrl = env.EMAIL_URL ?? (await emailStandIn!.start());
  if (emailStandIn) closers.push(() => emailStandIn.stop());
  const confirmations = createOrderConfirmationsApp({ broker, emailer: axios.create({ baseURL: emailUrl }) });
  lines.push(
    `order confirmations: e-mail service ${emailStandIn ? `→ local stand-in HTTP server at ${emailUrl} (503 on every 50th request; set EMAIL_URL for a real one)` : 'at EMAIL_URL'}`,
  );

  // execution quality → market prices from InfluxDB 1.x (InfluxQL)
  const marketStandIn = env.INFLUX_URL ? undefined : new MarketDataStandIn();
  const influxDb = env.INFLUX_DB ?? 'rivulet';
  const influx = env.INFLUX_URL ? influxQLClient({ url: env.INFLUX_URL, db: influxDb }) : marketStandIn!;
  const outliers: Report[] = [];
  const quality = createExecutionQualityApp({ broker, influx, flag: (report) => outliers.push(report) });
  lines.push(
    `execution quality: market data ${marketStandIn ? '→ in-process stand-in answering the InfluxQL query (set INFLUX_URL and INFLUX_DB for a real InfluxDB 1.x)' : `from InfluxDB at INFLUX_URL, database ${influxDb} (seeded with the made-up market)`}`,
  );

  // positions: fills repartitioned by account into a table, alerts over the limit to a topic
  let books = new Map<string, Book>();
  const alerts: PositionAlert[] = [];
  const positions = createPositionsApp({
    broker,
    onSnapshot: (latest) => (books = latest),
    onAlert: (alert) => alerts.push(alert),
  });
  lines.push(
    `positions: fills repartitioned by account into the table positions (memory store, changelog ${positions.positions.changelogTopic}), alerts to position_alerts`,
  );

  return {
    apps: [feed.app, confirmations.app, quality.app, positions.app],
    describe: () => lines,
    positions: () => ({ books, alerts }),
    async generate(activityCount, orderCount, stopped = () => false, fillCount = orderCount) {
      const chunk = 1000;
      const activities = generateActivities(activityCount);
      const orders = generateOrders(orderCount);
      const fills = generateFills(fillCount);
      if (env.INFLUX_URL && orders.length > 0) {
        const from = new Date(orders[0]!.executedAt.getTime() - 1000);
        await seedMarketData(
          env.INFLUX_URL,
          influxDb,
          marketDataLines(SYMBOLS, from, orders.at(-1)!.executedAt),
        );
      }
      const longest = Math.max(activities.length, orders.length, fills.length);
      for (let i = 0; i < longest && !stopped(); i += chunk) {
        const someActivities = activities.slice(i, i + chunk);
        const someOrders = orders.slice(i, i + chunk);
        const someFills = fills.slice(i, i + chunk);
        if (someActivities.length > 0)
          await feed.activities.sendMany(someActivities.map((a) => ({ key: a.user, value: a })));
        if (someOrders.length > 0)
          await confirmations.orders.sendMany(someOrders.map((o) => ({ key: o.user, value: o })));
        if (someFills.length > 0)
          await positions.fills.sendMany(someFills.map((f) => ({ key: f.orderId, value: f })));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return { activities, orders, fills };
    },
    async results() {
      const out: string[] = [];
      if (standInSets)
        out.push(
          `feed cache: ${standInSets.size} entries in ${standInSets.sets.size} sorted sets; user-0 latest: ${JSON.stringify(standInSets.latest('feed:user-0', 2))}`,
        );
      if (emailStandIn)
        out.push(
          `order confirmations: ${emailStandIn.sent.size} distinct e-mails sent in ${emailStandIn.requests} requests`,
        );
      const checked = quality.app.agents.find((agent) => agent.name === 'check-executions')!.stats().settled;
      const example = outliers[0] ? ` (e.g. ${outliers[0].orderId}: ${outliers[0].slippageBps} bps)` : '';
      out.push(`execution quality: ${checked} orders checked, ${outliers.length} outliers flagged${example}`);
      out.push(`positions: ${books.size} accounts, ${alerts.length} alerts${largestPosition(books)}`);
      return out;
    },
    async close() {
      await Promise.all(closers.map((close) => close()));
    },
  };
}

/** `; account-3: UMBRELLA +3800`, the largest position held, or nothing without positions. */
function largestPosition(books: ReadonlyMap<string, Book>): string {
  let largest: { account: string; symbol: string; quantity: number } | undefined;
  for (const [account, book] of books)
    for (const [symbol, quantity] of Object.entries(book.positions))
      if (!largest || Math.abs(quantity) > Math.abs(largest.quantity))
        largest = { account, symbol, quantity };
  if (!largest) return '';
  return `; ${largest.account}: ${largest.symbol} ${largest.quantity > 0 ? '+' : ''}${largest.quantity}`;
}

/** Writes line protocol to InfluxDB 1.x, creating the database first. */
async function seedMarketData(url: string, db: string, lines: readonly string[]): Promise<void> {
  const base = url.replace(/\/$/, '');
  await fetch(`${base}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `CREATE DATABASE "${db}"` }),
  });
  const response = await fetch(`${base}/write?db=${encodeURIComponent(db)}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  if (!response.ok)
    throw new Error(`seeding market data failed: ${response.status} ${await response.text()}`);
}
