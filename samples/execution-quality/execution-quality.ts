/**
 * Execution quality: for every order, the market price of its symbol at the moment it executed, looked
 * up in InfluxDB (InfluxQL, every value escaped), compared with the execution price. A report per order
 * goes to `execution_reports`; a second agent reads the reports and flags the outliers.
 */
import type { Observable } from 'rxjs';
import { z } from 'zod';
import { type Message, createApp, filterValue, json, mapValue, toTopic } from 'rivulet';
import {
  type InfluxQLQuery,
  type InfluxQueryClient,
  type InfluxRow,
  influxql,
  lookupInflux,
} from 'rivulet/influx';
import { Order } from '../orders/orders.js';

export const Report = z.object({
  orderId: z.string(),
  symbol: z.string(),
  executedAt: z.coerce.date(),
  price: z.number(),
  marketPrice: z.number().nullable(),
  /** (price − market) / market, in basis points; null without a market price. */
  slippageBps: z.number().nullable(),
  outlier: z.boolean(),
});
export type Report = z.infer<typeof Report>;

/** Slippage beyond this many basis points (1 %) is an outlier. */
export const OUTLIER_BPS = 100;

export function report(order: Order, rows: readonly InfluxRow[]): Report {
  const market = typeof rows[0]?.last === 'number' ? rows[0].last : null;
  const slippageBps = market === null ? null : Math.round(((order.price - market) / market) * 10_000);
  return {
    orderId: order.id,
    symbol: order.symbol,
    executedAt: order.executedAt,
    price: order.price,
    marketPrice: market,
    slippageBps,
    outlier: slippageBps !== null && Math.abs(slippageBps) > OUTLIER_BPS,
  };
}

/** Orders → the market price at execution time (InfluxQL, values escaped) → a report per order. */
export const checkExecutions = (influx: InfluxQueryClient<InfluxQLQuery>) =>
  lookupInflux<InfluxQLQuery, Order, string | null, Report>(
    influx,
    ({ value: o }) =>
      influxql`SELECT last(price) FROM marketdata WHERE symbol = ${o.symbol} AND time <= ${o.executedAt}`,
    { concurrency: 16, combine: report },
  );

/** The second agent: reports → the outliers, handed to `flag` (a log line, an alert…). */
export const flagOutliers =
  (flag: (report: Report) => void) => (report$: Observable<Message<Report, string | null>>) =>
    report$.pipe(
      filterValue((r) => r.outlier),
      mapValue((r) => flag(r)),
    );

export function createExecutionQualityApp(options: {
  broker: string;
  influx: InfluxQueryClient<InfluxQLQuery>;
  flag: (report: Report) => void;
}) {
  const app = createApp({ id: 'execution-quality', broker: options.broker });
  const orders = app.topic('orders', { value: json(Order), partitions: 4 });
  const reports = app.topic('execution_reports', { value: json(Report), partitions: 4 });
  app.agent('check-executions', orders, (order$) =>
    order$.pipe(checkExecutions(options.influx), toTopic(reports)),
  );
  app.agent('flag-outliers', reports, flagOutliers(options.flag));
  return { app, orders, reports };
}
