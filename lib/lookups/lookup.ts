import { type ObservableInput, type OperatorFunction, catchError, from, map, throwError } from 'rxjs';
import type { Message } from '../core/message.js';
import { mergeMapValue } from '../operators/merge-map-value.js';

/**
 * A message's value together with what a lookup found for it: the default output of lookups.
 *
 * @example
 * ```ts
 * order$.pipe(
 *   lookupRedis(redis, ({ value: o }, r) => r.get(`price:${o.symbol}`)),
 *   mapValue(({ input, result }: Enriched<Order, string | null>) => ({ ...input, price: Number(result) })),
 * );
 * ```
 */
export interface Enriched<T, R> {
  /** The message's value before the lookup. */
  readonly input: T;
  /** What the lookup returned. */
  readonly result: R;
}

/**
 * Options shared by every lookup operator.
 *
 * @example
 * ```ts
 * lookupRedis(redis, ({ value: o }, r) => r.get(`price:${o.symbol}`), {
 *   concurrency: 32,
 *   combine: (order, price) => ({ ...order, price: Number(price) }),
 * });
 * ```
 */
export interface LookupOptions<T, R, U> {
  /** Lookups in flight at once (default 16). */
  readonly concurrency?: number;
  /** Builds the new value from the old one and the result (default: `{ input, result }`). */
  readonly combine?: (input: T, result: R) => U;
}

/**
 * Looks something up per message with a client (at most `concurrency` at once) and emits the message
 * with a value combining the original and the result, keeping its lineage. A failed lookup goes to the
 * agent's error policy (after `mapError`, which tells retriable errors from permanent ones). The
 * building block of `lookupRedis`, `lookupHttp` and `lookupInflux`.
 *
 * @example
 * ```ts
 * order$.pipe(lookup(prices, ({ value: o }, p) => p.quote(o.symbol), { concurrency: 8 }));
 * ```
 */
export function lookup<C, T, K, R, U = Enriched<T, R>>(
  client: C,
  query: (message: Message<T, K>, client: C) => ObservableInput<R>,
  options: LookupOptions<T, R, U> & { readonly mapError?: (error: unknown) => unknown } = {},
): OperatorFunction<Message<T, K>, Message<U, K>> {
  const combine = options.combine ?? ((input: T, result: R) => ({ input, result }) as U);
  const mapError = options.mapError;
  return mergeMapValue<T, U, K>(
    (value, message) => {
      const result = from(query(message, client)).pipe(map((found) => combine(value, found)));
      return mapError
        ? result.pipe(catchError((error: unknown) => throwError(() => mapError(error))))
        : result;
    },
    { concurrency: options.concurrency ?? 16 },
  );
}
