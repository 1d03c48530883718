/**
 * Where the integration tests find the real services started by `npm run services:up`
 * (scripts/services.sh); the defaults match scripts/env.sh.
 */
export const services = {
  kafkaBrokers: (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
  redisUrl: process.env.RIVULET_REDIS_URL ?? 'redis://127.0.0.1:16379',
  influxUrl: process.env.RIVULET_INFLUX_URL ?? 'http://127.0.0.1:18086',
  influxDb: process.env.RIVULET_INFLUX_DB ?? 'rivulet',
  victoriaUrl: process.env.RIVULET_VICTORIA_URL ?? 'http://127.0.0.1:18428',
} as const;

/** A name no other test run uses: topics, groups and key prefixes get one each. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
