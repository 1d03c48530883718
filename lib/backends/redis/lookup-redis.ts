import type { ObservableInput, OperatorFunction } from 'rxjs';
import type { Message } from '../../core/message.js';
import { RedisCommandError } from './redis-command-error.js';
import { type Enriched, type LookupOptions, lookup } from '../../lookups/lookup.js';

/**
 * Reads from Redis per message with the application's own client (`get`, `hget`, `zrange`…, any
 * command returning a Promise or an Observable), at most `concurrency` at once (default 16), and emits
 * the message with `{ input, result }` (or what `combine` builds). Errors Redis replies with
 * (`WRONGTYPE`…) become a non-retriable {@link RedisCommandError}: the agent dead-letters the message;
 * connection errors are retried by the agent's policy.
 *
 * @example
 * ```ts
 * activity$.pipe(lookupRedis(redis, ({ value: a }, r) => r.zrange(a.user, 0, 9), { concurrency: 32 }));
 * ```
 */
export function lookupRedis<C, T, K, R, U = Enriched<T, R>>(
  client: C,
  query: (message: Message<T, K>, client: C) => ObservableInput<R>,
  options: LookupOptions<T, R, U> = {},
): OperatorFunction<Message<T, K>, Message<U, K>> {
  return lookup(client, query, {
    ...options,
    mapError: (error) =>
      error instanceof Error && error.name === 'ReplyError' ? new RedisCommandError(0, error) : error,
  });
}
