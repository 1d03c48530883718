/**
 * Order volume: how many orders each symbol had in each minute, as InfluxDB points. The orders (keyed
 * by user) are re-keyed by symbol (`repartition`), counted per symbol in one-minute tumbling windows of
 * event time (the order's `executedAt`), and each window's final count is written to InfluxDB once the
 * window closes: `orders_per_minute,symbol=ACME count=412i <window start>`.
 *
 * A window closes when the orders of its partition have moved past its end plus the grace, or, when no
 * order arrives for `idleAfterMs` and the partition has caught up, when the wall clock has. A crash
 * before its point is written writes it again after recovery, with the same count: InfluxDB keeps one
 * point per series and timestamp, so the point is written once in effect.
 *
 * Under `rivulet worker`, see ./worker.ts.
 */
import { Point } from '@influxdata/influxdb-client';
import type { Observable } from 'rxjs';
import {
  type AgentOptions,
  type AppOptions,
  type Message,
  type WindowResult,
  type WindowTable,
  aggregateWindows,
  count,
  createApp,
  json,
  mapValue,
  repartition,
  tumbling,
} from 'rivulet';
import { type InfluxWriteApiLike, toInflux } from 'rivulet/influx';
import { Order } from '../orders/orders.js';

/** The measurement the points are written to. */
export const ORDERS_PER_MINUTE = 'orders_per_minute';

/** A symbol's count of orders in one minute, as the agent wrote it. */
export interface SymbolMinute {
  readonly symbol: string;
  /** Start of the minute, ms since the epoch (the point's timestamp). */
  readonly start: number;
  readonly count: number;
}

export type OrderVolumeTable = WindowTable<string, Order, number>;

/** The point of a closed window: tag `symbol`, integer field `count`, timestamp the window's start (ms). */
export function volumePoint({ key, start, value }: WindowResult<string, number>): Point {
  return new Point(ORDERS_PER_MINUTE).tag('symbol', key).intField('count', value).timestamp(start);
}

/**
 * The agent's pipeline: orders keyed by symbol → the per-minute windows → one point per closed window
 * → `written` (a log line, a test's record…) once InfluxDB accepted it.
 */
export const countOrdersPerMinute =
  (
    perMinute: OrderVolumeTable,
    writeApi: InfluxWriteApiLike<Point>,
    written: (minute: SymbolMinute) => void = () => undefined,
  ) =>
  (order$: Observable<Message<Order, string | null>>) =>
    order$.pipe(
      aggregateWindows(perMinute, {
        key: (m) => m.value.symbol,
        time: (m) => m.value.executedAt.getTime(),
      }),
      toInflux(writeApi, ({ value }) => volumePoint(value)),
      mapValue(({ key, start, value }) => written({ symbol: key, start, count: value })),
    );

export interface OrderVolumeOptions {
  /** Where to write the points (`influxWriteApi(new InfluxDB({ url }), { db })`, or a stand-in). */
  readonly writeApi: InfluxWriteApiLike<Point>;
  /** The broker URL (or `transport`). */
  readonly broker?: string;
  readonly transport?: AppOptions['transport'];
  /** App id (default `order-volume`): names the consumer groups, the internal topic and the changelog. */
  readonly id?: string;
  /** The topic the orders arrive on (default `orders`). */
  readonly ordersTopic?: string;
  /** Length of a window (default one minute). */
  readonly windowMs?: number;
  /**
   * How late (event time) an order is still counted in its minute (default 10 s): more than the orders
   * of different partitions drift apart across the repartition hop, or they are dead-lettered as late.
   * A window's point is written this long after the window's end (by the wall clock once orders stop).
   */
  readonly graceMs?: number;
  /** Close windows by the wall clock after this long without orders (default 1 s). */
  readonly idleAfterMs?: number;
  /** Called for each point InfluxDB accepted (again after a crash, with the same count). */
  readonly onWritten?: (minute: SymbolMinute) => void;
  readonly logger?: AppOptions['logger'];
  readonly agentDefaults?: AgentOptions;
}

/**
 * The order-volume app: `orders` → repartition by symbol → per-minute counts → InfluxDB.
 *
 * @example
 * ```ts
 * const writeApi = influxWriteApi(new InfluxDB({ url: 'http://localhost:8086' }), { db: 'market' });
 * const { app } = createOrderVolumeApp({ broker: 'kafka://localhost:9092', writeApi });
 * await app.run();
 * ```
 */
export function createOrderVolumeApp(options: OrderVolumeOptions) {
  const app = createApp({
    id: options.id ?? 'order-volume',
    ...(options.transport ? { transport: options.transport } : { broker: options.broker ?? 'memory://' }),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.agentDefaults ? { agentDefaults: options.agentDefaults } : {}),
  });
  const orders = app.topic(options.ordersTopic ?? 'orders', { value: json(Order), partitions: 4 }); // keyed by user
  const bySymbol = repartition(app, 'by-symbol', orders, (m) => m.value.symbol);
  const perMinute: OrderVolumeTable = app.windowTable<Order, number>('orders-per-minute', {
    window: tumbling(options.windowMs ?? 60_000),
    aggregate: count(),
    graceMs: options.graceMs ?? 10_000,
    idleAfterMs: options.idleAfterMs ?? 1_000,
  });
  app.agent(
    'count-orders-per-minute',
    bySymbol,
    countOrdersPerMinute(perMinute, options.writeApi, options.onWritten),
  );
  return { app, orders, bySymbol, perMinute };
}

/** The expected counts: orders per `symbol|minute start` (the reference the specs compare with). */
export function countPerMinute(
  orders: Iterable<Pick<Order, 'symbol' | 'executedAt'>>,
  windowMs = 60_000,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { symbol, executedAt } of orders) {
    const id = `${symbol}|${Math.floor(executedAt.getTime() / windowMs) * windowMs}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
