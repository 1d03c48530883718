/**
 * Builds the six sample apps for `npm start` and the end-to-end specs: on `memory://samples` unless
 * KAFKA_URL is set, with real Redis / e-mail / InfluxDB when their URLs are set and local stand-ins
 * otherwise (and it says which).
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import axios from 'axios';
import { Redis } from 'ioredis';
import type { App } from 'rivulet';
import { type Activity, createFeedApp, generateActivities } from './feed-cache/feed-cache.js';
import { type Report, createExecutionQualityApp } from './execution-quality/execution-quality.js';
import { influxQLClient, influxWriteApi } from 'rivulet/influx';
import { MemoryRedis, waitFor } from 'rivulet/testing';
import { createOrderConfirmationsApp } from './order-confirmations/order-confirmations.js';
import { ORDERS_PER_MINUTE, type SymbolMinute, createOrderVolumeApp } from './order-volume/order-volume.js';
import { type Order, SYMBOLS, generateOrders } from './orders/orders.js';
import {
  type Customer,
  REGION_VOLUME,
  type RegionMinute,
  createRegionVolumeApp,
  generateCustomers,
} from './region-volume/region-volume.js';
import {
  type Book,
  type Fill,
  type PositionAlert,
  createPositionsApp,
  generateFills,
} from './positions/positions.js';
import { EmailServerStandIn } from './stand-ins/email-server.js';
import { InfluxPointsStandIn } from './stand-ins/influx-points.js';
import { MarketDataStandIn, marketDataLines } from './stand-ins/market-data.js';

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
  /** The customers sent to the region-volume sample's global table, by user. */
  readonly customers: ReadonlyMap<string, Customer>;
}

export interface Samples {
  readonly apps: readonly App[];
  /** One line per sample: the broker and which real service or stand-in it uses. */
  describe(): string[];
  /**
   * Sends the customers first (and waits until the region-volume sample's global table holds them), then
   * the generated activities, orders and fills (as many as orders unless told), in chunks, until done or
   * `stopped()` says so.
   */
  generate(activities: number, orders: number, stopped?: () => boolean, fills?: number): Promise<Generated>;
  /** The positions sample's last table snapshot (taken every second and as its app stops) and its alerts. */
  positions(): { readonly books: ReadonlyMap<string, Book>; readonly alerts: readonly PositionAlert[] };
  /** The order-volume sample's points written (by `symbol|minute start`) and the late orders it left out. */
  orderVolume(): { readonly minutes: ReadonlyMap<string, SymbolMinute>; readonly late: number };
  /** The region-volume sample's points written (by `region|minute start`) and the late orders it left out. */
  regionVolume(): { readonly minutes: ReadonlyMap<string, RegionMinute>; readonly late: number };
  /**
   * Waits until the order-volume and region-volume samples have each written (or counted late) at least
   * `orders` orders: their windows close a little after the last order (once the partitions are idle),
   * after the commits.
   */
  windowsClosed(orders: number, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** What the samples produced, in a few lines. */
  results(): Promise<string[]>;
  close(): Promise<void>;
}

export async function setupSamples(env: SampleEnv, options: { brokerName?: string } = {}): Promise<Samples> {
  const broker = env.KAFKA_URL ?? `memory://${options.brokerName ?? 'samples'}`;
  const lines: string[] = [`broker: ${broker.startsWith('memory') ? `${broker} (embedded)` : 'Kafka'}`];
  const closers: (() => Promise<unknown>)[] = [];

  // feed cache → Redis
  const standInSets = env.REDIS_URL ? undefined : new MemoryRedis();
  const feedKeys = new Set<string>();
  const redis = env.REDIS_URL
    ? new Redis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
    : undefined;
  if (redis) closers.push(async () => redis.disconnect());
  const feed = createFeedApp({ broker, redis: redis ?? standInSets! });
  lines.push(
    `feed cache: Redis ${redis ? 'at REDIS_URL' : '→ in-process stand-in, MemoryRedis from rivulet/testing (set REDIS_URL for a real one)'}`,
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

  // order volume: orders repartitioned by symbol, counted per minute, a point per closed window
  const pointsStandIn = env.INFLUX_URL ? undefined : new InfluxPointsStandIn();
  const volumeWrites = env.INFLUX_URL
    ? influxWriteApi(new InfluxDB({ url: env.INFLUX_URL }), { db: influxDb })
    : undefined;
  if (volumeWrites) closers.push(() => volumeWrites.close());
  const minutes = new Map<string, SymbolMinute>();
  const volume = createOrderVolumeApp({
    broker,
    writeApi: volumeWrites ?? pointsStandIn!,
    onWritten: (minute) => minutes.set(`${minute.symbol}|${minute.start}`, minute),
  });
  const volumeLate = (): number => {
    const { lateDeadLettered, lateDropped } = volume.perMinute.stats();
    return lateDeadLettered + lateDropped;
  };
  lines.push(
    `order volume: orders repartitioned by symbol, counted per minute (window table orders-per-minute), points ${ORDERS_PER_MINUTE} ${pointsStandIn ? '→ in-process InfluxDB stand-in (set INFLUX_URL for a real one)' : `to InfluxDB at INFLUX_URL, database ${influxDb}`}`,
  );

  // region volume: orders repartitioned by their customer's region (a global table), summed per minute
  const regionMinutes = new Map<string, RegionMinute>();
  const region = createRegionVolumeApp({
    broker,
    writeApi: volumeWrites ?? pointsStandIn!,
    onWritten: (minute) => regionMinutes.set(`${minute.region}|${minute.start}`, minute),
  });
  const regionLate = (): number => {
    const { lateDeadLettered, lateDropped } = region.perMinute.stats();
    return lateDeadLettered + lateDropped;
  };
  lines.push(
    `region volume: orders repartitioned by their customer's region (global table customers), summed per minute, points ${REGION_VOLUME} ${pointsStandIn ? '→ the InfluxDB stand-in' : 'to InfluxDB at INFLUX_URL'}`,
  );
  // orders whose window closed (written or late), in each sample
  const volumeClosed = (): number =>
    [...minutes.values()].reduce((sum, m) => sum + m.count, 0) + volumeLate();
  const regionClosed = (): number =>
    [...regionMinutes.values()].reduce((sum, m) => sum + m.orders, 0) + regionLate();

  return {
    apps: [feed.app, confirmations.app, quality.app, positions.app, volume.app, region.app],
    describe: () => lines,
    positions: () => ({ books, alerts }),
    orderVolume: () => ({ minutes, late: volumeLate() }),
    regionVolume: () => ({ minutes: regionMinutes, late: regionLate() }),
    async windowsClosed(orderCount, options = {}) {
      await waitFor(() => volumeClosed() >= orderCount && regionClosed() >= orderCount, {
        timeoutMs: options.timeoutMs ?? 30_000,
        intervalMs: 50,
        description: `the order-volume and region-volume windows to close over ${orderCount} orders`,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    },
    async generate(activityCount, orderCount, stopped = () => false, fillCount = orderCount) {
      const chunk = 250; // 2.5 s of orders: across the repartition hop they drift less than the grace
      // the customers first: an order is counted under its customer's region once the table holds it
      const customers = generateCustomers();
      await region.customers.topic.sendMany(customers);
      const known = (c: (typeof customers)[number]) => region.customers.get(c.key)?.region === c.value.region;
      await waitFor(() => stopped() || customers.every(known), {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: 'the customers in the global table',
      });
      const activities = generateActivities(activityCount);
      for (const { user } of activities) feedKeys.add(`feed:${user}`);
      // ending on the last minute boundary: the order-volume windows close a grace period after the last order
      const orders = generateOrders(orderCount, Math.floor(Date.now() / 60_000) * 60_000 - orderCount * 10);
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
      return { activities, orders, fills, customers: new Map(customers.map((c) => [c.key, c.value])) };
    },
    async results() {
      const out: string[] = [];
      if (standInSets) {
        let entries = 0;
        for (const key of feedKeys) entries += await standInSets.zcard(key);
        const latest = await standInSets.zrevrange('feed:user-0', 0, 1);
        out.push(
          `feed cache: ${entries} entries in ${await standInSets.dbsize()} sorted sets; user-0 latest: ${JSON.stringify(latest)}`,
        );
      }
      if (emailStandIn)
        out.push(
          `order confirmations: ${emailStandIn.sent.size} distinct e-mails sent in ${emailStandIn.requests} requests`,
        );
      const checked = quality.app.agents.find((agent) => agent.name === 'check-executions')!.stats().settled;
      const example = outliers[0] ? ` (e.g. ${outliers[0].orderId}: ${outliers[0].slippageBps} bps)` : '';
      out.push(`execution quality: ${checked} orders checked, ${outliers.length} outliers flagged${example}`);
      out.push(`positions: ${books.size} accounts, ${alerts.length} alerts${largestPosition(books)}`);
      out.push(orderVolumeLine(minutes, volumeLate()));
      out.push(regionVolumeLine(regionMinutes, regionLate()));
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

/** `order volume: 5000 orders in 10 symbol-minutes; busiest: ACME at 12:03 (1000)`, and the late ones. */
function orderVolumeLine(minutes: ReadonlyMap<string, SymbolMinute>, late: number): string {
  let total = 0;
  let busiest: SymbolMinute | undefined;
  for (const minute of minutes.values()) {
    total += minute.count;
    if (!busiest || minute.count > busiest.count) busiest = minute;
  }
  const at = busiest
    ? `; busiest: ${busiest.symbol} at ${new Date(busiest.start).toISOString().slice(11, 16)} UTC (${busiest.count})`
    : '';
  return `order volume: ${total} orders in ${minutes.size} symbol-minutes written${at}${late > 0 ? `; ${late} late orders left out` : ''}`;
}

/** `region volume: 5000 orders (250000 shares) in 9 region-minutes written; busiest: emea at 12:03 UTC (600 orders)`. */
function regionVolumeLine(minutes: ReadonlyMap<string, RegionMinute>, late: number): string {
  let [orders, shares] = [0, 0];
  let busiest: RegionMinute | undefined;
  for (const minute of minutes.values()) {
    [orders, shares] = [orders + minute.orders, shares + minute.quantity];
    if (!busiest || minute.orders > busiest.orders) busiest = minute;
  }
  const at = busiest
    ? `; busiest: ${busiest.region} at ${new Date(busiest.start).toISOString().slice(11, 16)} UTC (${busiest.orders} orders)`
    : '';
  return `region volume: ${orders} orders (${shares} shares) in ${minutes.size} region-minutes written${at}${late > 0 ? `; ${late} late orders left out` : ''}`;
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
