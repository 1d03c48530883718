import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { committedToEnd, waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

const fixture = fileURLToPath(new URL('./table-cluster-worker.ts', import.meta.url));

/**
 * Source records, keys, partitions. TABLE_CLUSTER_COUNT scales the run (default 200k, what the issue asks;
 * about a minute on two cores, so CI runs it at full size).
 */
const TOTAL = Number(process.env.TABLE_CLUSTER_COUNT ?? 200_000);
const KEYS = 1000;
const PARTITIONS = 6;
const KILLS = 5;
/** Records kept back while the kills and the fourth worker are under way, produced slowly. */
const RESERVE = Math.round(TOTAL * 0.15);

interface Progress {
  /** The worker's HTTP port (0 until its first line). */
  readonly port: number;
  readonly received: number;
  readonly applied: number;
  readonly replayed: number;
  readonly state: string;
  readonly owned: readonly number[];
}
/** What `GET /tables/counts` answers: a page of keys per owned partition (or that it is restored). */
interface KeyPages {
  readonly partitions: readonly {
    readonly partition: number;
    readonly keys?: readonly string[];
    readonly next?: string;
    readonly recovering?: boolean;
  }[];
}

/** One run of the worker fixture (a process); `last` is its latest progress line. */
class Worker {
  readonly child: ChildProcess;
  last: Progress = { port: 0, received: 0, applied: 0, replayed: 0, state: 'idle', owned: [] };
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
      stdio: ['ignore', 'pipe', 'pipe'],
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

  /** GET `path` on the worker's HTTP server: its status and JSON body. */
  async get<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`http://127.0.0.1:${this.last.port}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  }
}

/**
 * The table as the workers serve it over HTTP, or undefined while it cannot be read whole yet (a
 * partition restored, or not owned by any of them). Every partition must be listed by exactly one worker
 * (`GET /tables/counts`, following `next`), and every key is read with `GET /tables/counts/<key>` from
 * the worker that owns its partition: asked first to whichever worker answered for that partition before,
 * a key answered 421 (another worker owns it; the answer names the partition) is asked to the others.
 */
async function readTable(
  workers: readonly Worker[],
  keys: readonly string[],
): Promise<{ counts: Map<string, number>; listed: Set<string>; redirected: number } | undefined> {
  const listed = new Set<string>();
  const listedBy = new Map<number, string>();
  for (const worker of workers) {
    const { status, body } = await worker.get<KeyPages>('/tables/counts?limit=1000');
    if (status !== 200) return undefined;
    for (let page of body.partitions) {
      if (page.recovering || listedBy.has(page.partition)) return undefined;
      listedBy.set(page.partition, worker.name);
      for (;;) {
        for (const key of page.keys ?? []) listed.add(key);
        if (page.next === undefined) break;
        const more = await worker.get<KeyPages>(
          `/tables/counts?partition=${page.partition}&limit=1000&after=${encodeURIComponent(page.next)}`,
        );
        if (more.status !== 200 || more.body.partitions[0]?.recovering) return undefined;
        page = more.body.partitions[0]!;
      }
    }
  }
  if (listedBy.size !== PARTITIONS) return undefined;

  const owners = new Map<number, Worker>();
  const counts = new Map<string, number>();
  let redirected = 0;
  const read = async (key: string): Promise<boolean> => {
    const path = `/tables/counts/${encodeURIComponent(key)}`;
    let tried: Worker[] = [];
    let partition: number | undefined;
    for (;;) {
      const next =
        (partition !== undefined ? owners.get(partition) : undefined) ??
        workers.find((w) => !tried.includes(w));
      if (!next || tried.includes(next)) return false; // no worker owns it now
      tried = [...tried, next];
      const { status, body } = await next.get<{ partition: number; value?: number }>(path);
      if (status === 421) {
        partition = body.partition;
        owners.delete(partition);
        redirected++;
        continue;
      }
      if (status !== 200) return false; // 503: restored now
      owners.set(body.partition, next);
      counts.set(key, body.value!);
      return true;
    }
  };
  for (let i = 0; i < keys.length; i += 50) {
    const answers = await Promise.all(keys.slice(i, i + 50).map(read));
    if (answers.includes(false)) return undefined;
  }
  return { counts, listed, redirected };
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

// Issue 9. TABLE_CLUSTER_SEED replays a run (the kill moments and the keys). Seed 38502 used to hang after
// the final commit: when the workers were stopped together, kafkajs rejoined once more while stopping, the
// agent was handed partitions again and their table restore reconnected the transport after it had
// closed, which kept the worker alive (the Kafka consumer now hands out no partition once it stops).
describe('kafka: a table on a cluster of workers, one SIGKILLed 5 times, one added and removed', function () {
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
    await until(() => [...stable, victim].every((w) => w.ready), 'three workers ready', [...stable, victim]);

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
    // Read the table over HTTP from the workers: together they list every partition once, restored, and
    // every key read from its owner equals the count of the input.
    let table: Awaited<ReturnType<typeof readTable>>;
    await Promise.race([
      waitFor(async () => (table = await readTable(alive, [...expected.keys()])) !== undefined, {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: 'the table to be readable whole from the workers over HTTP',
      }),
      ...alive.map(dead),
    ]);
    const { counts: actual, listed, redirected } = table!;
    console.log(
      `      ${elapsed()} table read over HTTP: ${actual.size} keys, ${redirected} answered 421 and asked again to their owner`,
    );

    const ends = await transport.endOffsets(changelog);
    const changelogRecords = ends.reduce((sum, end) => sum + end.offset, 0);
    for (const worker of alive) worker.child.kill('SIGTERM');
    const exits = await Promise.race([
      Promise.all(alive.map((worker) => worker.exited)),
      // bounded, with the workers' logs: a worker that does not exit is the failure, not a test timeout
      sleep(60_000).then(() => {
        throw new Error(
          `the workers did not all exit within 60 s of SIGTERM:\n${alive.map((w) => `${w.name}: ${w.child.exitCode ?? 'running'}\n${w.stderr}`).join('\n')}`,
        );
      }),
    ]);
    const runs = [...finished, ...alive];
    const received = runs.reduce((sum, w) => sum + w.last.received, 0);
    const replayed = runs.reduce((sum, w) => sum + w.last.replayed, 0);
    const applied = runs.reduce((sum, w) => sum + w.last.applied, 0);
    console.log(
      `      ${elapsed()} ${runs.length} worker runs; source records received ${received} for ${TOTAL} (${received - TOTAL} delivered again, at least: a killed worker's last 100 ms are not counted), ` +
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
    expect(actual.size, 'keys read').to.equal(expected.size);
    expect([...listed].sort(), 'keys the workers list').to.deep.equal([...expected.keys()].sort());
    expect(received - TOTAL, 'records delivered again (the kills did happen mid-stream)').to.be.greaterThan(
      0,
    );
    // A changelog batch writes the last value of each key it changed: between one record per key and one
    // per source record.
    expect(changelogRecords, 'changelog records').to.be.within(expected.size, TOTAL);
    // Stopped together (a rebalance while each stops): every one exits cleanly.
    alive.forEach((worker, i) =>
      expect(exits[i]!.code, `${worker.name} on SIGTERM:\n${worker.stderr}`).to.equal(0),
    );
  });
});
