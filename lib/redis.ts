/**
 * Redis sink and lookup for the application's own ioredis client: `rivulet/redis`.
 * @module
 */
export { toRedis, type ToRedisOptions } from './backends/redis/to-redis.js';
export type { RedisClientLike, RedisPipelineLike, RedisExecResult } from './backends/redis/redis-client.js';
export { RedisCommandError } from './backends/redis/redis-command-error.js';
export { RedisExecAbortedError } from './backends/redis/redis-exec-aborted-error.js';
export { RedisConnectionError } from './backends/redis/redis-connection-error.js';
export { lookupRedis } from './backends/redis/lookup-redis.js';
export { lookup, type Enriched, type LookupOptions } from './lookups/lookup.js';
