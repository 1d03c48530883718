import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { bufferTime } from 'rxjs';
import { type SinkEvent, createApp } from '../../../lib/index.js';
import { toRedis } from '../../../lib/redis.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

const TOTAL = 30_000;
const RATE_PER_S = 400; // 30k in 75 s
const PARTITIONS = 4;
const OUTAGE_MS = 60_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port free now (bound once by the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server of this test's own, without persistence: killed, it comes back empty. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Issue 8: a Redis sink whose server is killed for 60 s mid-stream, on Kafka. The agent must hold
 * (not dead-letter), keep its commits behind what Redis has, say so once per backoff step, stay
 * bounded in memory, and resume by itself when Redis is back.
 *
 * The test's Redis has no persistence, so a kill empties it: the writes before the kill are captured
 * exactly (writes paused with CLIENT PAUSE, contents read, then SIGKILL), and "nothing lost" means every
 * id is in that snapshot or in the restarted Redis.
 */
describe('toRedis: Redis killed for 60 s mid-stream on Kafka', function () {
  this.timeout(170_000);

  it('holds without dead-lettering, commits nothing unwritten, stays bounded, resumes by itself, loses nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-outage-'));
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let server = await startRedis(port, dir);
    const key = `${uniqueName('outage')}:ids`;
    const logs: { level: number; msg: string; at: number }[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          const { level, msg } = JSON.parse(line) as { level: number; msg: string };
          logs.push({ level, msg, at: Date.now() });
        },
      },
    );
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    const app = createApp({
      id: uniqueName('outage-app'),
      broker: `kafka://${services.kafkaBrokers.join(',')}`,
      logger,
    });
    const topic = app.topic<{ id: string; j: number }>(uniqueName('outage'), { partitions: PARTITIONS });
    const agent = app.agent('save-ids', topic, (message$) =>
      message$.pipe(
        bufferTime(20),
        toRedis(redis, ({ value }, tx) => tx.zadd(key, value.j, value.id)),
      ),
    );
    const events: { at: number; event: SinkEvent }[] = [];
    const watch = app.sinkEvents$.subscribe((event) => events.push({ at: Date.now(), event }));
    const rss: { at: number; mb: number }[] = [];
    const rssTimer = setInterval(
      () => rss.push({ at: Date.now(), mb: process.memoryUsage().rss / 2 ** 20 }),
      1000,
    );
    const offsetToJ = new Map<string, number>(); // `${partition}:${offset}` → j
    let check = new Redis(url, { maxRetriesPerRequest: 1 });
    check.on('error', () => undefined);
    try {
      await app.start();
      const transport = await app.transport();

      // The producer: steady keyed records, paced on the clock.
      let sent = 0;
      const producing = (async () => {
        const start = Date.now();
        while (sent < TOTAL) {
          const due = Math.min(TOTAL, Math.floor(((Date.now() - start) / 1000) * RATE_PER_S));
          if (due > sent) {
            const records = [];
            for (let j = sent; j < due; j++) records.push({ key: `k${j % 16}`, value: { id: `r${j}`, j } });
            const metadata = await topic.sendMany(records);
            metadata.forEach((m, k) => offsetToJ.set(`${m.partition}:${m.offset}`, sent + k));
            sent = due;
          }
          await sleep(100);
        }
      })();
      producing.catch(() => undefined);

      // Mid-stream: the agent is writing.
      await waitFor(async () => (await check.zcard(key)) >= 3000, {
        timeoutMs: 60_000,
        description: '3000 ids in Redis before the outage',
      });

      // Kill Redis, knowing exactly what it held: writes paused, contents read, then SIGKILL.
      await check.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      const before = new Set(await check.zrange(key, '0', '-1'));
      check.disconnect();
      await kill(server);
      const killedAt = Date.now();
      const rssAtKill = process.memoryUsage().rss / 2 ** 20;
      console.log(`      killed Redis after ${before.size} ids written, ${sent} produced`);

      // During the outage: committed offsets sampled every 250 ms.
      const samples: { at: number; committed: Map<number, number> }[] = [];
      const sample = async () => {
        const committed = await transport.committedOffsets(agent.group, topic.name);
        samples.push({ at: Date.now(), committed: new Map(committed.map((c) => [c.partition, c.offset])) });
      };
      while (Date.now() - killedAt < OUTAGE_MS) {
        await sample();
        await sleep(250);
      }

      // Restart on the same port; it comes back empty.
      server = await startRedis(port, dir);
      const restartedAt = Date.now();
      check = new Redis(url, { maxRetriesPerRequest: 1 });
      check.on('error', () => undefined);
      await waitFor(async () => (await check.zcard(key)) > 0, {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: 'a write after Redis came back',
      });
      const resumeMs = Date.now() - restartedAt;
      console.log(`      first write ${resumeMs} ms after Redis was ready again`);

      await producing;
      const union = async () => {
        const all = new Set(before);
        for (const id of await check.zrange(key, '0', '-1')) all.add(id);
        return all.size;
      };
      await waitFor(async () => (await union()) >= TOTAL, {
        intervalMs: 500,
        timeoutMs: 60_000,
        description: 'every id in Redis',
      });
      await waitForCommitted(app, { timeoutMs: 60_000 });
      const after = new Set(await check.zrange(key, '0', '-1'));
      const dlqEnds = await transport.endOffsets(`${topic.name}.dlq`).catch(() => []);

      // Nothing dead-lettered, nothing lost.
      expect(
        dlqEnds.every((end) => end.offset === 0),
        `dead-letter topic ends: ${JSON.stringify(dlqEnds)}`,
      ).to.equal(true);
      expect(agent.stats().deadLettered).to.equal(0);
      const missing: string[] = [];
      for (let j = 0; j < TOTAL; j++) if (!before.has(`r${j}`) && !after.has(`r${j}`)) missing.push(`r${j}`);
      expect(missing.slice(0, 20), `${missing.length} ids lost`).to.deep.equal([]);

      // Committed offsets during the outage never passed what Redis held when it was killed.
      const violations: string[] = [];
      for (const { at, committed } of samples)
        for (const [partition, offset] of committed)
          for (let o = 0; o < offset; o++) {
            const j = offsetToJ.get(`${partition}:${o}`);
            if (j === undefined || !before.has(`r${j}`)) {
              violations.push(
                `+${at - killedAt} ms: p${partition} committed ${offset}, offset ${o} not written`,
              );
              break;
            }
          }
      expect(violations.slice(0, 10), `${violations.length} violations`).to.deep.equal([]);
      const first = samples[0]!.committed;
      const last = samples.at(-1)!.committed;
      console.log(
        `      committed during the outage: first ${JSON.stringify([...first])}, last ${JSON.stringify([...last])} (${samples.length} samples)`,
      );

      // Said so once per backoff step during the outage.
      const failing = logs.filter(
        (line) =>
          /^redis sink (still )?failing/.test(line.msg) && line.at >= killedAt && line.at < restartedAt,
      );
      console.log(
        `      "sink failing" lines at +${failing.map((line) => ((line.at - killedAt) / 1000).toFixed(1)).join(', +')} s after the kill`,
      );
      if (process.env.OUTAGE_DEBUG) {
        for (const line of logs)
          console.log(`        ${((line.at - killedAt) / 1000).toFixed(1)} ${line.level} ${line.msg}`);
        for (const { at, event } of events
          .filter((e) => e.event.error !== undefined || e.at > killedAt - 1000)
          .slice(0, 40))
          console.log(
            `        event +${((at - killedAt) / 1000).toFixed(1)} messages ${event.messages} attempts ${event.attempts} ${event.durationMs} ms ${event.error === undefined ? 'ok' : String(event.error)}`,
          );
      }
      expect(failing.length, 'sink failing lines during the outage').to.be.at.least(2);
      expect(failing[0]!.msg).to.match(/^redis sink failing: .*ECONNREFUSED.*paused, retrying in \d+\.\d s$/);

      expect(resumeMs, 'resumed within a few seconds of Redis returning').to.be.below(8000);

      // Memory stayed bounded.
      const mbs = rss.map((r) => r.mb);
      const min = Math.min(...mbs);
      const max = Math.max(...mbs);
      const outageMax = Math.max(
        ...rss.filter((r) => r.at >= killedAt && r.at < restartedAt).map((r) => r.mb),
      );
      console.log(
        `      RSS min ${min.toFixed(0)} MB, max ${max.toFixed(0)} MB; at kill ${rssAtKill.toFixed(0)} MB, max during outage ${outageMax.toFixed(0)} MB`,
      );
      expect(max - min, 'RSS growth (MB)').to.be.below(150);
    } finally {
      clearInterval(rssTimer);
      watch.unsubscribe();
      await app.stop();
      redis.disconnect();
      check.disconnect();
      await kill(server);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
