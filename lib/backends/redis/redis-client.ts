import type { ObservableInput } from 'rxjs';

/**
 * What `exec()` of an ioredis pipeline resolves to: one `[error, result]` tuple per queued command.
 *
 * @example
 * ```ts
 * const result: RedisExecResult = await redis.pipeline().set('a', '1').incr('b').exec();
 * // [[null, 'OK'], [null, 1]]; null only when a MULTI was aborted by WATCH
 * ```
 */
export type RedisExecResult = readonly (readonly [error: Error | null, result: unknown])[] | null;

/**
 * The part of an ioredis pipeline rivulet uses: the user queues commands on it, rivulet calls `exec()`.
 * An ioredis `ChainableCommander` satisfies it; a test fake may return an Observable from `exec()`.
 *
 * @example
 * ```ts
 * const fake: RedisPipelineLike = { exec: () => of([[null, 1]] as const) };
 * ```
 */
export interface RedisPipelineLike {
  exec(): ObservableInput<RedisExecResult>;
}

/**
 * A Redis client that opens pipelines: an ioredis `Redis` or `Cluster` instance, or a fake.
 *
 * @example
 * ```ts
 * const redis: RedisClientLike<ChainableCommander> = new Redis(process.env.REDIS_URL);
 * ```
 */
export interface RedisClientLike<P extends RedisPipelineLike = RedisPipelineLike> {
  pipeline(): P;
}
