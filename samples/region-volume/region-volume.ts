/**
 * Region volume: how many orders, and how many shares, each region traded in each minute, as InfluxDB
 * points. Orders name a user; the customers (user → name, region) live in the compacted topic
 * `customers`, read in full by every worker as the global table `customers`. The orders are re-keyed
 * by their customer's region (`repartition`, whose key function looks the customer up: a stream–table
 * join on any worker), summed per region in one-minute tumbling windows of event time, and each closed
 * window is written once: `region_volume,region=emea orders=412i,quantity=20600i <window start>`.
 *
 * Exact across a crash: a copy the repartition makes again after a crash carries its origin, and the
 * windows count each order once, as long as the copy made again has the same key: a customer who
 * moves to another region between the two copies (a rare row change, between a copy and the commit)
 * has that order counted in both regions. An order whose customer is not known (yet) is counted under
 * the region `unknown` (a left join: no order is left out of the volume).
 */
import { Point } from '@influxdata/influxdb-client';
import { z } from 'zod';
import {
  type Aggregate,
  type AppOptions,
  type GlobalTable,
  type Message,
  type WindowResult,
  type WindowTable,
  aggregateWindows,
  createApp,
  json,
  mapValue,
  repartition,
  tumbling,
} from 'rivulet';
import { type InfluxWriteApiLike, toInflux } from 'rivulet/influx';
import { Order } from '../orders/orders.js';

/** A row of the global table `customers`, keyed by user. */
export const Customer = z.object({ name: z.string(), region: z.string() });
export type Customer = z.infer<typeof Customer>;

/** The regions the made-up customers live in. */
export const REGIONS = ['emea', 'americas', 'apac'] as const;
/** The region of an order whose customer is not in the table. */
export const UNKNOWN_REGION = 'unknown';
/** The measurement the points are written to. */
export const REGION_VOLUME = 'region_volume';

/** What a region traded in a minute: orders and the sum of their quantities. */
export interface Volume {
  readonly orders: number;
  readonly quantity: number;
}
/** A region's volume in one minute, as the agent wrote it. */
export interface RegionMinute extends Volume {
  readonly region: string;
  /** Start of the minute, ms since the epoch (the point's timestamp). */
  readonly start: number;
}

/** Orders and shares per window: integers, so a sum is the same whatever the order of the orders. */
export const volume: Aggregate<Order, Volume, number> = {
  init: () => ({ orders: 0, quantity: 0 }),
  event: (order) => order.quantity,
  add: ({ orders, quantity }, shares) => ({ orders: orders + 1, quantity: quantity + shares }),
};

/** The point of a closed window: tag `region`, integer fields `orders` and `quantity`, at the window's start. */
export function regionPoint({ key, start, value }: WindowResult<string, Volume>): Point {
  return new Point(REGION_VOLUME)
    .tag('region', key)
    .intField('orders', value.orders)
    .intField('quantity', value.quantity)
    .timestamp(start);
}

export interface RegionVolumeOptions {
  /** Where to write the points (`influxWriteApi(new InfluxDB({ url }), { db })`, or a stand-in). */
  readonly writeApi: InfluxWriteApiLike<Point>;
  /** The broker URL (or `transport`). */
  readonly broker?: string;
  readonly transport?: AppOptions['transport'];
  /** App id (default `region-volume`): names the consumer groups, the internal topic and the changelog. */
  readonly id?: string;
  /** How late (event time) an order is still counted in its minute (default 10 s). */
  readonly graceMs?: number;
  /** Called for each point InfluxDB accepted (again after a crash, with the same volume). */
  readonly onWritten?: (minute: RegionMinute) => void;
  readonly logger?: AppOptions['logger'];
}

/**
 * The region-volume app: `orders` → repartition by the customer's region (global table `customers`)
 * → per-minute volume → InfluxDB.
 *
 * @example
 * ```ts
 * const writeApi = influxWriteApi(new InfluxDB({ url: 'http://localhost:8086' }), { db: 'market' });
 * const { app, customers } = createRegionVolumeApp({ broker: 'kafka://localhost:9092', writeApi });
 * await customers.topic.send({ name: 'Ada', region: 'emea' }, { key: 'user-1' });
 * await app.run();
 * ```
 */
export function createRegionVolumeApp(options: RegionVolumeOptions) {
  const app = createApp({
    id: options.id ?? 'region-volume',
    ...(options.transport ? { transport: options.transport } : { broker: options.broker ?? 'memory://' }),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  // every worker holds every customer, restored before the agents start and followed after
  const customers: GlobalTable<string, Customer> = app.globalTable('customers', {
    value: json(Customer),
    partitions: 3,
  });
  const orders = app.topic('orders', { value: json(Order), partitions: 4 }); // keyed by user
  const regionOf = (m: Message<Order, string | null>) =>
    customers.get(m.value.user)?.region ?? UNKNOWN_REGION;
  const byRegion = repartition(app, 'by-region', orders, regionOf);
  const perMinute: WindowTable<string, Order, Volume> = app.windowTable('volume-per-minute', {
    window: tumbling(60_000),
    aggregate: volume,
    graceMs: options.graceMs ?? 10_000, // more than the orders of different partitions drift apart at the hop
    idleAfterMs: 1_000, // once orders stop, windows close by the wall clock
  });
  const written = options.onWritten ?? (() => undefined);
  app.agent('sum-region-volume', byRegion, (order$) =>
    order$.pipe(
      aggregateWindows(perMinute, { time: (m) => m.value.executedAt.getTime() }), // keyed by region
      toInflux(options.writeApi, ({ value }) => regionPoint(value)),
      mapValue(({ key, start, value }) => written({ region: key, start, ...value })),
    ),
  );
  return { app, customers, orders, byRegion, perMinute };
}

/** Made-up customers: `user-<i>` for i below `users`, spread over the regions. */
export function generateCustomers(users = 40): { key: string; value: Customer }[] {
  return Array.from({ length: users }, (_, i) => ({
    key: `user-${i}`,
    value: { name: `Customer ${i}`, region: REGIONS[(i * 7) % REGIONS.length]! },
  }));
}

/** The expected volumes: per `region|minute start`, of the orders and the customers given. */
export function volumePerMinute(
  orders: Iterable<Pick<Order, 'user' | 'quantity' | 'executedAt'>>,
  customers: ReadonlyMap<string, Customer>,
): Map<string, Volume> {
  const volumes = new Map<string, Volume>();
  for (const { user, quantity, executedAt } of orders) {
    const region = customers.get(user)?.region ?? UNKNOWN_REGION;
    const id = `${region}|${Math.floor(executedAt.getTime() / 60_000) * 60_000}`;
    const { orders: n, quantity: q } = volumes.get(id) ?? { orders: 0, quantity: 0 };
    volumes.set(id, { orders: n + 1, quantity: q + quantity });
  }
  return volumes;
}
