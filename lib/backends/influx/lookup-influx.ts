import type { OperatorFunction } from 'rxjs';
import type { Message } from '../../core/message.js';
import { type Enriched, type LookupOptions, lookup } from '../../lookups/lookup.js';
import type { InfluxQueryClient, InfluxRow } from './influx-query-client.js';

/**
 * Queries InfluxDB per message (at most `concurrency` at once, default 16) and emits the message with
 * `{ input, result }`, `result` being the rows (or what `combine` builds). Build queries with the
 * escaping templates (`influxql` for 1.x, the client's `flux` for 2.x): message fields never reach the
 * query text unescaped. A failed query goes to the agent's error policy (bad queries: dead-lettered).
 *
 * @example
 * ```ts
 * order$.pipe(
 *   lookupInflux(influx, ({ value: o }) => influxql`SELECT last(price) FROM marketdata
 *       WHERE symbol = ${o.symbol} AND time <= ${o.executedAt}`),
 *   mapValue(({ input: o, result: [row] }) => ({ ...o, slippage: o.price - Number(row?.last) })),
 * );
 * ```
 */
export function lookupInflux<Q, T, K, U = Enriched<T, readonly InfluxRow[]>>(
  client: InfluxQueryClient<Q>,
  query: (message: Message<T, K>) => Q,
  options: LookupOptions<T, readonly InfluxRow[], U> = {},
): OperatorFunction<Message<T, K>, Message<U, K>> {
  return lookup(client, (message, influx) => influx.query(query(message)), options);
}
