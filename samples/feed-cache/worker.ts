/**
 * The feed cache as a worker module, for `rivulet worker` (one process per worker; start more to scale
 * out). With KAFKA_URL and REDIS_URL it consumes `feed_activities` and writes to Redis:
 *
 *   KAFKA_URL=kafka://127.0.0.1:19092 REDIS_URL=redis://127.0.0.1:16379 \
 *     npm run rivulet -- worker samples/feed-cache/worker.ts --port 9464
 *   npm run rivulet -- send feed_activities '{"user":"ada","message":"hi","timestamp":"2026-11-26T12:00:00Z"}' \
 *     --key ada --broker kafka://127.0.0.1:19092
 *
 * Without KAFKA_URL it runs on memory:// and feeds itself a few made-up activities per second; without
 * REDIS_URL it writes to MemoryRedis (rivulet/testing), in process.
 */
import { Redis } from 'ioredis';
import { MemoryRedis } from 'rivulet/testing';
import { createFeedApp, generateActivities } from './feed-cache.js';

const redis = process.env.REDIS_URL
  ? new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 })
  : new MemoryRedis();
const { app, activities } = createFeedApp({ broker: process.env.KAFKA_URL ?? 'memory://feed-worker', redis });
app.onStop(() => redis.disconnect());

if (!process.env.KAFKA_URL) {
  let sent = 0;
  const demo = setInterval(() => {
    const batch = generateActivities(5, 5, Date.now()).map((a) => ({
      ...a,
      message: `${a.message} #${sent++}`,
    }));
    void activities.sendMany(batch.map((a) => ({ key: a.user, value: a })));
  }, 1000);
  demo.unref();
}

export default app;
