/**
 * Redis sink and lookup for the application's own ioredis client: `rivulet/redis`.
 * @module
 */
export { toRedis, type ToRedisOptions } from './sinks/redis/to-redis.js';
export type { RedisClientLike, RedisPipelineLike, RedisExecResult } from './sinks/redis/redis-client.js';
export { RedisCommandError } from './sinks/redis/redis-command-error.js';
export { RedisExecAbortedError } from './sinks/redis/redis-exec-aborted-error.js';
export { lookupRedis } from './lookups/redis/lookup-redis.js';
export { lookup, type Enriched, type LookupOptions } from './lookups/lookup.js';
