import type { OperatorFunction } from 'rxjs';
import { map } from 'rxjs';
import type { Message } from '../../core/message.js';
import type { HttpClientLike, HttpRequestConfig } from './http-client.js';
import { type HttpCallOptions, httpCall } from './http-request.js';
import { type Enriched, type LookupOptions, lookup } from '../../lookups/lookup.js';

/**
 * Calls an HTTP API per message to enrich it (at most `concurrency` at once, default 16) and emits the
 * message with `{ input, result }`, `result` being the response body (typed `R`, not validated), or
 * what `combine` builds. Same timeout and retries as `toHttp`; a request that fails for good goes to
 * the agent's error policy (4xx: dead-lettered at once).
 *
 * @example
 * ```ts
 * order$.pipe(lookupHttp<Order, string, Quote>(prices, ({ value: o }) => ({ url: `/quote/${o.symbol}` })));
 * ```
 */
export function lookupHttp<T, K, R = unknown, U = Enriched<T, R>>(
  client: HttpClientLike,
  request: (message: Message<T, K>) => HttpRequestConfig,
  options: LookupOptions<T, R, U> & HttpCallOptions = {},
): OperatorFunction<Message<T, K>, Message<U, K>> {
  return lookup(
    client,
    (message, http) => httpCall(http, request(message), options).pipe(map((response) => response.data as R)),
    options,
  );
}
