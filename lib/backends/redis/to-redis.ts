import { type OperatorFunction, from, map } from 'rxjs';
import type { SinkMessage } from '../../sinks/sink-message.js';
import { type SinkInput, type SinkOptions, sink } from '../../sinks/sink.js';
import type { RedisClientLike, RedisExecResult, RedisPipelineLike } from './redis-client.js';
import { RedisCommandError } from './redis-command-error.js';
import { RedisExecAbortedError } from './redis-exec-aborted-error.js';

/**
 * Options of {@link toRedis}: those of `sink()`, all optional.
 *
 * @example
 * ```ts
 * activity$.pipe(toRedis(redis, save, { name: 'feed-cache', maxBatchSize: 200, retry: { retries: 3 } }));
 * ```
 */
export type ToRedisOptions = Partial<SinkOptions>;

/** Default retry of a Redis write: patient enough to ride out a restart of several seconds. */
const REDIS_RETRY = { retries: 10, backoff: { initialDelayMs: 100, maxDelayMs: 5000 } } as const;

/**
 * Writes messages to Redis with the application's own client: each write opens one pipeline, `command`
 * queues the commands of each message on it, and `exec()` sends them in one round trip. Every command's
 * result is checked: one failed command fails the whole write with a {@link RedisCommandError}. The
 * messages settle after the write succeeded; a failed write is retried (by default 10 times with
 * backoff up to 5 s), then its messages go to the agent's error policy (retry, then dead-letter or
 * stop); commands Redis refuses (`WRONGTYPE`…) are not retried and are dead-lettered. Batches from
 * `bufferTime`/`bufferCount` go out as one pipeline; single messages batch up while a write is in
 * flight. Sink events are named `redis` (or `options.name`). A client without an `'error'` listener gets
 * a no-op one: a failed write already reports the error (once per backoff step while Redis is down),
 * where ioredis would print `[ioredis] Unhandled error event` on every reconnection attempt.
 *
 * @example
 * ```ts
 * activity$.pipe(
 *   bufferTime(50),
 *   toRedis(redis, ({ value: a }, tx) => tx.zadd(a.user, a.timestamp.getTime(), a.message)),
 * );
 * ```
 */
export function toRedis<P extends RedisPipelineLike, I extends SinkInput<unknown, unknown>>(
  client: RedisClientLike<P>,
  command: (message: SinkMessage<NoInfer<I>>, pipeline: P) => unknown,
  options: ToRedisOptions = {},
): OperatorFunction<I, I> {
  quietUnhandledErrors(client);
  return sink<unknown, unknown>(
    (batch) => {
      const pipeline = client.pipeline();
      for (const message of batch) command(message as SinkMessage<I>, pipeline);
      return from(pipeline.exec()).pipe(map(checkExecResult));
    },
    { name: 'redis', retry: REDIS_RETRY, ...options },
  );
}

/** Throws for an aborted exec or the first failed command. */
function checkExecResult(result: RedisExecResult): RedisExecResult {
  if (result === null) throw new RedisExecAbortedError();
  result.forEach(([error], index) => {
    if (error) throw new RedisCommandError(index, error);
  });
  return result;
}

const ignoreError = (): void => undefined;

/** Gives an event-emitting client with no `'error'` listener a no-op one (ioredis prints unhandled ones). */
function quietUnhandledErrors(client: object): void {
  const emitter = client as {
    on?: (event: 'error', listener: () => void) => unknown;
    listenerCount?: (event: 'error') => number;
  };
  if (typeof emitter.on !== 'function' || typeof emitter.listenerCount !== 'function') return;
  if (emitter.listenerCount('error') === 0) emitter.on('error', ignoreError);
}
