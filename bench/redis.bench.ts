/**
 * `npm run bench:redis`: the feed pipeline (memory:// topic → toRedis ZADD, with and without
 * bufferTime) against pipelined ZADD straight through ioredis, on the same Redis in the same run.
 * Redis: RIVULET_REDIS_URL (default the services script's redis://127.0.0.1:16379).
 */
import { type ChainableCommander, Redis } from 'ioredis';
import { bufferTime } from 'rxjs';
import {
  type Message,
  MemoryBroker,
  MemoryTransport,
  createApp,
  silentLogger,
  string,
} from '../lib/index.js';
import { toRedis } from '../lib/redis.js';
import { waitForCommitted } from '../lib/testing/index.js';
import { machine } from './machine.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const USERS = 1000;
const CHUNK = 500;
const url = process.env.RIVULET_REDIS_URL ?? 'redis://127.0.0.1:16379';

/** Message j of the feed: user, timestamp, text (what the agent parses out of the record). */
const activity = (j: number) => ({
  user: `u${j % USERS}`,
  timestamp: 1_700_000_000_000 + j,
  message: `m${j}`,
});

async function clear(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}

/** Pipelined ZADD straight through ioredis, CHUNK commands per pipeline, one pipeline in flight. */
async function plainIoredis(redis: Redis, prefix: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < COUNT; i += CHUNK) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(COUNT, i + CHUNK); j++) {
      const a = activity(j);
      pipeline.zadd(`${prefix}${a.user}`, a.timestamp, a.message);
    }
    const results = await pipeline.exec();
    if (results?.some(([error]) => error)) throw new Error('ZADD failed');
  }
  return COUNT / ((performance.now() - started) / 1000);
}

/** The feed agent on memory://: records are stored first, then the clock runs from start to the last commit. */
async function rivulet(redis: Redis, prefix: string, batching: 'plain' | 'bufferTime'): Promise<number> {
  const broker = new MemoryBroker({ defaultPartitions: 1 });
  const app = createApp({ id: 'bench-redis', transport: new MemoryTransport(broker), logger: silentLogger });
  const topic = app.topic('feed_activities', { value: string() });
  const records = [];
  for (let j = 0; j < COUNT; j++) {
    const a = activity(j);
    records.push({ key: a.user, value: `${a.user}|${a.timestamp}|${a.message}` });
  }
  for (let i = 0; i < COUNT; i += 10_000) await topic.sendMany(records.slice(i, i + 10_000));
  const save = ({ value }: Message<string, string | null>, tx: ChainableCommander) => {
    const [user, timestamp, message] = value.split('|');
    tx.zadd(`${prefix}${user}`, Number(timestamp), message!);
  };
  app.agent(
    'save-activities',
    topic,
    (activity$) =>
      batching === 'plain'
        ? activity$.pipe(toRedis(redis, save))
        : activity$.pipe(bufferTime(50), toRedis(redis, save)),
    { maxInFlight: 20_000 },
  );
  const started = performance.now();
  await app.start();
  await waitForCommitted(app, { timeoutMs: 600_000 });
  const rate = COUNT / ((performance.now() - started) / 1000);
  await app.stop();
  return rate;
}

const redis = new Redis(url);
const prefix = `bench-feed-${process.pid}:`;
console.log(`Machine: ${machine()}`);
console.log(`Redis ${url}, ${COUNT.toLocaleString('en')} ZADDs over ${USERS} sorted sets per run`);
const fmt = (rate: number) => `${Math.round(rate).toLocaleString('en')} msg/s`;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    await clear(redis, prefix);
    const plain = await plainIoredis(redis, prefix);
    await clear(redis, prefix);
    const sink = await rivulet(redis, prefix, 'plain');
    const sinkCount = await redis.zcard(`${prefix}u0`);
    await clear(redis, prefix);
    const buffered = await rivulet(redis, prefix, 'bufferTime');
    if (sinkCount !== COUNT / USERS)
      throw new Error(`expected ${COUNT / USERS} members in u0, got ${sinkCount}`);
    console.log(
      `round ${round}: ioredis pipelined ${fmt(plain)} | rivulet toRedis ${fmt(sink)} (ratio ${(sink / plain).toFixed(2)}) | rivulet bufferTime(50)+toRedis ${fmt(buffered)} (ratio ${(buffered / plain).toFixed(2)})`,
    );
  }
} finally {
  await clear(redis, prefix);
  redis.disconnect();
}
