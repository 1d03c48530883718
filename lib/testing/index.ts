/**
 * Testing helpers: `rivulet/testing`.
 * @module
 */
export { testPipeline, testMessage, type PipelineRun, type TestFailure } from './test-pipeline.js';
export { waitFor, waitForCommitted, committedToEnd, WaitTimeoutError } from './wait-for.js';
export { MemoryRedis, type MemoryRedisPipeline } from './memory-redis.js';
export { MemoryRedisReplyError } from './memory-redis-reply-error.js';
