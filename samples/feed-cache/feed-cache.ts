/**
 * Feed cache: every activity on `feed_activities` goes into its user's Redis sorted set, scored by time,
 * so a feed page is one `ZREVRANGE`. Batches of 50 ms go out as one Redis pipeline and settle together.
 */
import { type Observable, bufferTime } from 'rxjs';
import { z } from 'zod';
import { type Message, createApp, json } from 'rivulet';
import { type RedisClientLike, type RedisPipelineLike, type ToRedisOptions, toRedis } from 'rivulet/redis';

export const Activity = z.object({ user: z.string(), message: z.string(), timestamp: z.coerce.date() });
export type Activity = z.infer<typeof Activity>;

/** The Redis commands this app needs: an ioredis client has them. */
export interface FeedPipeline extends RedisPipelineLike {
  zadd(key: string, score: number, member: string): unknown;
}

/**
 * The agent: activities → ZADD feed:<user> <time> <message>. Redis is passed in, so tests can fake it;
 * `options` are the sink's (its retries, for instance).
 */
export const saveActivities =
  (redis: RedisClientLike<FeedPipeline>, options: ToRedisOptions = {}) =>
  (activity$: Observable<Message<Activity, string | null>>) =>
    activity$.pipe(
      bufferTime(50),
      toRedis(
        redis,
        ({ value: a }, tx) => tx.zadd(`feed:${a.user}`, a.timestamp.getTime(), a.message),
        options,
      ),
    );

export function createFeedApp(options: { broker: string; redis: RedisClientLike<FeedPipeline> }) {
  const app = createApp({ id: 'feed', broker: options.broker });
  const activities = app.topic('feed_activities', { value: json(Activity), partitions: 4 });
  app.agent('save-activities', activities, saveActivities(options.redis));
  return { app, activities };
}

/** Made-up activities for the demo: `count` of them among `users` users. */
export function generateActivities(count: number, users = 50, start = Date.now()): Activity[] {
  const verbs = ['liked', 'shared', 'commented on', 'bookmarked'];
  return Array.from({ length: count }, (_, i) => ({
    user: `user-${i % users}`,
    message: `${verbs[i % verbs.length]} post #${(i * 7919) % 10_000} (${i})`,
    timestamp: new Date(start + i),
  }));
}
