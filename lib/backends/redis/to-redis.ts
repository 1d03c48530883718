import { type OperatorFunction, catchError, from, map, throwError } from 'rxjs';
import type { SinkMessage } from '../../sinks/sink-message.js';
import { type SinkInput, type SinkOptions, sink } from '../../sinks/sink.js';
import type { RedisClientLike, RedisExecResult, RedisPipelineLike } from './redis-client.js';
import { RedisCommandError } from './redis-command-error.js';
import { RedisConnectionError } from './redis-connection-error.js';
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
  watchConnection(client);
  return sink<unknown, unknown>(
    (batch) => {
      const pipeline = client.pipeline();
      for (const message of batch) command(message as SinkMessage<I>, pipeline);
      return from(pipeline.exec()).pipe(
        map(checkExecResult),
        catchError((error: unknown) => throwError(() => withConnectionReason(client, error))),
      );
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

/** The last connection error each client reported on its 'error' event, until it is ready again. */
const connectionErrors = new WeakMap<object, Error>();
const watched = new WeakSet<object>();

/**
 * Listens to the client's 'error' and 'ready' events (once per client) to know why it is disconnected.
 * The listener also keeps ioredis from printing "Unhandled error event" for a client that had none: the
 * sink reports the failure itself, once per backoff step.
 */
function watchConnection(client: object): void {
  const emitter = client as {
    on?: (event: 'error' | 'ready', listener: (error?: Error) => void) => unknown;
  };
  if (typeof emitter.on !== 'function' || watched.has(client)) return;
  watched.add(client);
  emitter.on('error', (error) => {
    if (error instanceof Error) connectionErrors.set(client, error);
  });
  emitter.on('ready', () => connectionErrors.delete(client));
}

/** A failed write of a disconnected client names why the connection fails, not the client's queue. */
function withConnectionReason(client: object, error: unknown): unknown {
  const connection = connectionErrors.get(client);
  const reply =
    error instanceof RedisCommandError && (error.cause as Error | undefined)?.name === 'ReplyError';
  if (!connection || reply || error instanceof RedisExecAbortedError) return error;
  return new RedisConnectionError(connection, error);
}
