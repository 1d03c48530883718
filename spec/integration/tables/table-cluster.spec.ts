import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { committedToEnd, waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

const fixture = fileURLToPath(new URL('./table-cluster-worker.ts', import.meta.url));

/** Source records, keys, partitions. TABLE_CLUSTER_COUNT scales the run (default 200k). */
const TOTAL = Number(process.env.TABLE_CLUSTER_COUNT ?? 200_000);
const KEYS = 1000;
const PARTITIONS = 6;
const KILLS = 5;
/** Records kept back while the kills and the fourth worker are under way, produced slowly. */
const RESERVE = Math.round(TOTAL * 0.15);

interface Progress {
  readonly received: number;
  readonly applied: number;
  readonly replayed: number;
  readonly state: string;
  readonly owned: readonly number[];
}
interface Dump {
  readonly ready: boolean;
  readonly owned: readonly number[];
  readonly counts: Readonly<Record<string, number>>;
}

/** One run of the worker fixture (a process); `last` is its latest progress line. */
class Worker {
  readonly child: ChildProcess;
  last: Progress = { received: 0, applied: 0, replayed: 0, state: 'idle', owned: [] };
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        ...env,
        RIVULET_WORKER: name,
        RIVULET_KAFKA_BROKERS: services.kafkaBrokers.join(','),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let pending = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.startsWith('{')) this.last = JSON.parse(line) as Progress;
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get ready(): boolean {
    return this.last.state === 'ready' && this.last.owned.length > 0;
  }

  dump(): Promise<Dump> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type?: string } & Dump): void => {
        if (message.type !== 'dump') return;
        this.child.off('message', onMessage);
        resolve(message);
      };
      this.child.on('message', onMessage);
      this.child.send({ type: 'dump' }, (error) => error && reject(error));
    });
  }
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with TABLE_CLUSTER_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Not in CI yet: on 2026-11-27 its counts came out exact (seed 446559) but it also failed, once on a worker
// exiting 1 at the final SIGTERM (fixed since: a restore cut short by a stop no longer fails the agent) and
// once by never reading every partition back after the group committed to the end (seed 38502, not yet
// understood). Run it with RIVULET_TABLE_CLUSTER=1; TABLE_CLUSTER_SEED replays a run.
(process.env.RIVULET_TABLE_CLUSTER ? describe : describe.skip)(
  'kafka: a table on a cluster of workers, one SIGKILLed 5 times, one added and removed',
  function () {
    this.timeout(300_000);
    const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
    const workers: Worker[] = [];
    after(async () => {
      for (const worker of workers) worker.child.kill('SIGKILL');
      await transport.close();
    });

    it(`counts ${TOTAL} keyed records exactly: table read from the workers = the counts of the input`, async () => {
      const seed = Number(process.env.TABLE_CLUSTER_SEED ?? Date.now() % 1_000_000);
      const rand = random(seed);
      const began = Date.now();
      const elapsed = (): string => `${((Date.now() - began) / 1000).toFixed(1)} s:`;
      console.log(`      seed ${seed} (TABLE_CLUSTER_SEED replays it), ${TOTAL} records, ${KEYS} keys`);
      const appId = uniqueName('table-cluster');
      const topicName = `${appId}-records`;
      const group = `${appId}.count`;
      const changelog = `${appId}-counts-changelog`;
      // Both topics made here, and read once: a worker's first ListOffsets on a topic just created fails
      // the agent (NOT_LEADER_FOR_PARTITION; see the report), which is not what this test is about.
      await transport.ensureTopics([
        { name: topicName, partitions: PARTITIONS },
        { name: changelog, partitions: PARTITIONS, config: { 'cleanup.policy': 'compact' } },
      ]);
      const readable = async (name: string): Promise<boolean> =>
        transport.endOffsets(name).then(
          () => true,
          () => false,
        );
      await waitFor(async () => (await readable(topicName)) && (await readable(changelog)), {
        timeoutMs: 30_000,
        description: 'the new topics to answer ListOffsets',
      });
      const env = { RIVULET_APP: appId, RIVULET_TOPIC: topicName };
      const start = (name: string): Worker => {
        const worker = new Worker(name, env);
        workers.push(worker);
        return worker;
      };
      const dead = (worker: Worker): Promise<never> =>
        worker.exited.then(({ code, signal }) => {
          throw new Error(`${worker.name} exited (${code ?? signal}):\n${worker.stderr}`);
        });
      /** Waits for `check`, failing at once when one of `alive` exits. */
      const until = (check: () => boolean, description: string, alive: Worker[], timeoutMs = 90_000) =>
        Promise.race([waitFor(check, { timeoutMs, intervalMs: 50, description }), ...alive.map(dead)]);

      // Three workers; the records come while the kills happen (paced: a fast share, then a slow reserve
      // that lasts until the kills and the fourth worker are done, then the rest at once).
      const stable = [start('w1'), start('w2')];
      let victim = start('victim-1');
      await until(() => [...stable, victim].every((w) => w.ready), 'three workers ready', [
        ...stable,
        victim,
      ]);

      const expected = new Map<string, number>();
      let produced = 0;
      let eventsDone = false;
      const producing = (async () => {
        while (produced < TOTAL) {
          const step = eventsDone ? 10_000 : produced < TOTAL - RESERVE ? 300 : 60;
          const records = Array.from({ length: Math.min(step, TOTAL - produced) }, (_, i) => {
            const id = produced + i;
            const key = `k${Math.floor(rand() * rand() * KEYS)}`; // skewed: some keys hot, most cold
            expected.set(key, (expected.get(key) ?? 0) + 1);
            return { topic: topicName, key: Buffer.from(key), value: Buffer.from(JSON.stringify({ id })) };
          });
          await transport.produce(records);
          produced += records.length;
          if (!eventsDone) await sleep(100); // a rate, not a wait on a condition
        }
      })();

      const finished: Worker[] = [];
      let extra: Worker | undefined;
      for (let kill = 1; kill <= KILLS; kill++) {
        const after = 200 + Math.floor(rand() * 2000);
        await until(
          // (or, should the kills outlast the records, once it is ready: a kill with nothing in flight)
          () => victim.ready && (victim.last.applied >= after || produced >= TOTAL),
          `${victim.name} to apply ${after} records`,
          [...stable, victim, ...(extra ? [extra] : [])],
        );
        victim.child.kill('SIGKILL');
        expect((await victim.exited).signal).to.equal('SIGKILL');
        console.log(
          `      ${elapsed()} kill ${kill}: ${victim.name} after ${victim.last.applied} applied (produced ${produced})`,
        );
        finished.push(victim);
        victim = start(`victim-${kill + 1}`);
        if (kill === 2) {
          extra = start('w4');
          await until(() => extra!.ready && extra!.last.applied >= 500, 'w4 to apply 500 records', [
            ...stable,
            victim,
            extra,
          ]);
          console.log(`      ${elapsed()} w4 joined, applied ${extra.last.applied}`);
        }
        if (kill === 4 && extra) {
          extra.child.kill('SIGTERM');
          expect((await extra.exited).code, extra.stderr).to.equal(0);
          console.log(`      ${elapsed()} w4 stopped gracefully after ${extra.last.applied} applied`);
          finished.push(extra);
          extra = undefined;
        }
      }
      eventsDone = true;
      console.log(`      ${elapsed()} kills done, produced ${produced}`);
      const alive = [...stable, victim];
      await Promise.race([producing, ...alive.map(dead)]);
      await Promise.race([
        waitFor(() => committedToEnd(transport, group, topicName), {
          timeoutMs: 120_000,
          intervalMs: 250,
          description: 'the group to commit to the end',
        }),
        ...alive.map(dead),
      ]);

      console.log(`      ${elapsed()} committed to the end`);
      // Read the table from the workers: together they must own every partition once, restored.
      let dumps: Dump[] = [];
      await waitFor(
        async () => {
          dumps = await Promise.all(alive.map((w) => w.dump()));
          const owned = dumps.flatMap((d) => d.owned).sort((a, b) => a - b);
          return (
            dumps.every((d) => d.ready) &&
            owned.join() === Array.from({ length: PARTITIONS }, (_, p) => p).join()
          );
        },
        { timeoutMs: 60_000, intervalMs: 200, description: 'the workers to own every partition once, ready' },
      );
      const actual = new Map<string, number>();
      for (const dump of dumps)
        for (const [key, count] of Object.entries(dump.counts)) actual.set(key, count);

      const ends = await transport.endOffsets(changelog);
      const changelogRecords = ends.reduce((sum, end) => sum + end.offset, 0);
      for (const worker of alive) worker.child.kill('SIGTERM');
      const exits = await Promise.all(alive.map((worker) => worker.exited));
      const runs = [...finished, ...alive];
      const received = runs.reduce((sum, w) => sum + w.last.received, 0);
      const replayed = runs.reduce((sum, w) => sum + w.last.replayed, 0);
      const applied = runs.reduce((sum, w) => sum + w.last.applied, 0);
      console.log(
        `      ${runs.length} worker runs; source records received ${received} for ${TOTAL} (${received - TOTAL} delivered again, at least), ` +
          `recognised as applied (replayed) ${replayed}, applied ${applied}`,
      );
      console.log(
        `      changelog ${changelog}: ${changelogRecords} records (end offsets) for ${TOTAL} source records`,
      );

      const wrong = [...expected].filter(([key, count]) => actual.get(key) !== count);
      expect(
        wrong.slice(0, 10).map(([key, count]) => `${key}: expected ${count}, table ${actual.get(key)}`),
        `${wrong.length} keys wrong`,
      ).to.deep.equal([]);
      expect(actual.size, 'keys in the table').to.equal(expected.size);
      expect(received - TOTAL, 'records delivered again (the kills did happen mid-stream)').to.be.greaterThan(
        0,
      );
      expect(changelogRecords, 'one changelog record per source record, at least').to.be.at.least(TOTAL);
      // Stopped together (a rebalance while each stops): every one exits cleanly.
      alive.forEach((worker, i) =>
        expect(exits[i]!.code, `${worker.name} on SIGTERM:\n${worker.stderr}`).to.equal(0),
      );
    });
  },
);
