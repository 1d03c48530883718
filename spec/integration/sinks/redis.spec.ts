import { expect } from 'chai';
import { Redis } from 'ioredis';
import { bufferTime } from 'rxjs';
import { type SinkEvent, createApp, silentLogger } from '../../../lib/index.js';
import { toRedis } from '../../../lib/redis.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

interface Activity {
  readonly user: string;
  readonly message: string;
  readonly timestamp: number;
}

const USERS = ['ann', 'bob', 'cy', 'dee', 'eve'];
const BASE_TIME = 1_700_000_000_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The feed example against the real Redis, through a proxy this test controls: activities →
 * bufferTime(50) → ZADD user timestamp message. Redis becomes unreachable for `outageMs` a third of
 * the way through, once the audit has seen a commit (so it watches commits mid-stream, not by luck).
 * One partition, so message `m<j>` is offset j. Meanwhile an audit checks that every committed
 * offset's message is already in Redis; it checks the final commit once more after the last wait.
 */
async function feedWithOutage(broker: string, messages: number, outageMs: number) {
  const prefix = `${uniqueName('feed')}:`;
  const proxy = await TcpProxy.start('127.0.0.1', Number(new URL(services.redisUrl).port));
  const redis = new Redis({ host: '127.0.0.1', port: proxy.port });
  let connectionErrors = 0;
  redis.on('error', () => connectionErrors++); // the outage, seen by the client
  const check = new Redis(services.redisUrl);
  const events: SinkEvent[] = [];
  const app = createApp({ id: uniqueName('feed'), broker, logger: silentLogger });
  const watch = app.sinkEvents$.subscribe((event) => {
    if (event.sink === 'redis') events.push(event);
  });
  const activities = app.topic<Activity>(uniqueName('feed_activities'), { partitions: 1 });
  const agent = app.agent('save-activities', activities, (activity$) =>
    activity$.pipe(
      bufferTime(50),
      toRedis(redis, ({ value: a }, tx) => tx.zadd(`${prefix}${a.user}`, a.timestamp, a.message)),
    ),
  );
  const stored = async () => {
    const all = new Map<string, number>();
    for (const user of USERS) {
      const flat = await check.zrange(`${prefix}${user}`, '0', '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) all.set(flat[i]!, Number(flat[i + 1]));
    }
    return all;
  };
  const violations: string[] = [];
  const commitsSeen = new Set<number>();
  let auditing = true;
  try {
    await app.start();
    const transport = await app.transport();
    const auditOnce = async () => {
      const committed = (await transport.committedOffsets(agent.group, activities.name))[0]?.offset ?? 0;
      const members = await stored(); // read after the commit: Redis only grows
      commitsSeen.add(committed);
      for (let o = 0; o < committed; o++)
        if (!members.has(`m${o}`)) violations.push(`committed ${committed} but m${o} is not in Redis`);
    };
    const audit = (async () => {
      while (auditing) {
        await auditOnce();
        await sleep(50);
      }
    })();
    let outageAt = 0;
    for (let i = 0; i < messages; i += 50) {
      if (outageAt === 0 && i >= messages / 3) {
        outageAt = i;
        await waitFor(() => [...commitsSeen].some((offset) => offset > 0), {
          timeoutMs: 30_000,
          description: 'the audit saw a commit before the outage',
        });
        await proxy.down();
        setTimeout(() => void proxy.up(), outageMs);
      }
      const records = [];
      for (let j = i; j < Math.min(messages, i + 50); j++) {
        const user = USERS[j % USERS.length]!;
        records.push({ key: user, value: { user, message: `m${j}`, timestamp: BASE_TIME + j } });
      }
      const metadata = await activities.sendMany(records);
      expect(metadata.map((m) => m.offset)).to.deep.equal(records.map((_r, k) => i + k));
      await sleep(20);
    }
    await waitForCommitted(app, { timeoutMs: 90_000 });
    auditing = false;
    await audit;
    await auditOnce(); // the final commit, whatever the loop's last look saw
    const deadLettered = await transport.endOffsets(`${activities.name}.dlq`).catch(() => []);
    return {
      members: await stored(),
      connectionErrors,
      events,
      violations,
      commitsSeen,
      deadLettered,
      stats: agent.stats(),
    };
  } finally {
    auditing = false;
    watch.unsubscribe();
    await app.stop();
    await proxy.down();
    redis.disconnect();
    check.disconnect();
  }
}

function expectFeedIntact(
  run: Awaited<ReturnType<typeof feedWithOutage>>,
  messages: number,
  outageMs: number,
) {
  expect(run.violations, 'offsets committed past unwritten messages').to.deep.equal([]);
  expect(run.members.size).to.equal(messages);
  for (let j = 0; j < messages; j++) expect(run.members.get(`m${j}`), `m${j}`).to.equal(BASE_TIME + j);
  expect(
    run.deadLettered.every((end) => end.offset === 0),
    'nothing dead-lettered',
  ).to.equal(true);
  expect(run.stats.deadLettered).to.equal(0);
  // the outage was really hit mid-stream: some write failed and was retried, or waited it out
  expect(
    run.events.some((event) => event.attempts > 1 || event.durationMs >= outageMs / 2),
    'a write spanned the outage',
  ).to.equal(true);
  expect(run.connectionErrors, 'the client saw the outage').to.be.greaterThan(0);
  expect(run.events.every((event) => event.error === undefined)).to.equal(true);
  const seen = [...run.commitsSeen];
  expect(
    seen.some((offset) => offset > 0 && offset < messages),
    'the audit saw a commit mid-stream',
  ).to.equal(true);
  expect(seen, 'the audit saw the final commit').to.include(messages);
}

describe('toRedis against a real Redis', function () {
  this.timeout(120_000);

  it('feed on the in-memory broker: a 4 s Redis outage mid-stream loses nothing, commits never pass unwritten messages, and it resumes by itself', async () => {
    const run = await feedWithOutage(`memory://${uniqueName('feed')}`, 1500, 4000);
    expectFeedIntact(run, 1500, 4000);
  });

  it('feed on Kafka: same outage, same guarantees', async () => {
    const run = await feedWithOutage(`kafka://${services.kafkaBrokers.join(',')}`, 1500, 4000);
    expectFeedIntact(run, 1500, 4000);
  });
});
