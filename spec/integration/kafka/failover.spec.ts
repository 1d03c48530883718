import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { committedToEnd, waitFor } from '../../../lib/testing/index.js';
import { type SinkLine, type WorkerProcess, readSink, startWorker } from '../support/kafka-worker-process.js';
import { services, uniqueName } from '../support/services.js';

const PARTITIONS = 6;
/** rivulet's group defaults, written out in the URL: what an app configured by URL runs with. */
const SESSION_TIMEOUT_MS = 10_000;
const BROKER_URL = `kafka://${services.kafkaBrokers.join(',')}?sessionTimeout=${SESSION_TIMEOUT_MS}&heartbeatInterval=1000&rebalanceTimeout=30000`;

/** Lines at warn or error a worker wrote (the fixture writes `[worker n] WARN …` / `ERROR …` to stderr). */
const noisyLines = (worker: WorkerProcess): string[] =>
  worker
    .stderr()
    .split('\n')
    .filter((line) => / (WARN|ERROR) /.test(line));
const infoLines = (worker: WorkerProcess): string[] =>
  worker
    .stderr()
    .split('\n')
    .filter((line) => / INFO /.test(line));

/**
 * Produces keyed records `{ id }` at a steady rate (every partition gets records every tick) until
 * stopped; `produced` counts them.
 */
function steadyLoad(transport: KafkaTransport, topic: string, perTick = 60, tickMs = 50) {
  let produced = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const records = Array.from({ length: perTick }, (_, i) => ({
        topic,
        key: Buffer.from(`k${produced + i}`),
        value: Buffer.from(JSON.stringify({ id: produced + i })),
      }));
      await transport.produce(records);
      produced += records.length;
      await sleep(tickMs); // a rate, not a wait on a condition
    }
  })();
  return {
    get produced() {
      return produced;
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** For each partition, the longest time between two lines written for it within [from, to]. */
function longestGaps(lines: readonly SinkLine[], from: number, to: number): Map<number, number> {
  const gaps = new Map<number, number>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const times = lines
      .filter((line) => line.partition === partition && line.at >= from && line.at <= to)
      .map((line) => line.at)
      .sort((a, b) => a - b);
    let longest = times.length === 0 ? to - from : Math.max(times[0]! - from, to - times.at(-1)!);
    for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
    gaps.set(partition, longest);
  }
  return gaps;
}

describe('kafka: failover of a group of three workers configured by URL', function () {
  this.timeout(150_000);
  const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
  const workers: WorkerProcess[] = [];
  afterEach(() => {
    for (const worker of workers.splice(0)) worker.child.kill('SIGKILL');
  });
  after(() => transport.close());

  async function setUp(name: string) {
    const topic = uniqueName(name);
    const group = uniqueName(`${name}-group`);
    const sinkFile = join(mkdtempSync(join(tmpdir(), `rivulet-${name}-`)), 'sink.txt');
    await transport.ensureTopics([{ name: topic, partitions: PARTITIONS }]);
    await waitFor(
      () =>
        transport.endOffsets(topic).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, description: 'the new topic to answer ListOffsets' },
    );
    const start = (run: number): WorkerProcess => {
      const worker = startWorker({
        topic,
        group,
        sinkFile,
        run,
        delayMs: 5,
        brokerUrl: BROKER_URL,
        logInfo: true,
      });
      workers.push(worker);
      return worker;
    };
    /** Every partition written within the last `ms`: all of them are being processed. */
    const allFlowing = (ms = 1000): boolean => {
      const since = Date.now() - ms;
      const recent = new Set(
        readSink(sinkFile)
          .filter((line) => line.at >= since)
          .map((line) => line.partition),
      );
      return recent.size === PARTITIONS;
    };
    /** Stops the load, waits for the group to commit everything, and checks that no id is missing. */
    const finish = async (load: ReturnType<typeof steadyLoad>) => {
      await load.stop();
      await waitFor(() => committedToEnd(transport, group, topic), {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: 'the group to commit to the end',
      });
      const lines = readSink(sinkFile);
      const ids = new Set(lines.map((line) => line.id));
      const missing = Array.from({ length: load.produced }, (_, id) => id).filter((id) => !ids.has(id));
      expect(missing.slice(0, 10), `${missing.length} ids never reached the sink`).to.deep.equal([]);
      return { lines, duplicates: lines.length - ids.size };
    };
    return { topic, group, sinkFile, start, allFlowing, finish };
  }

  it("a SIGKILLed worker's partitions are processed again after about the session timeout (10 s, set by URL), well under kafkajs's 30 s; the survivors log no warning", async () => {
    const { topic, sinkFile, start, allFlowing, finish } = await setUp('failover-kill');
    const team = [start(1), start(2), start(3)];
    await Promise.all(team.map((worker) => worker.ready));
    const load = steadyLoad(transport, topic);
    await waitFor(() => allFlowing(), { timeoutMs: 60_000, description: 'every partition processed' });
    // Settled: every worker has its share, no rebalance under way (each partition flowed for 2 s).
    const recentRuns = (): Set<number> =>
      new Set(
        readSink(sinkFile)
          .filter((line) => line.at >= Date.now() - 2000)
          .map((line) => line.run),
      );
    await waitFor(() => allFlowing(2000) && recentRuns().size === 3, {
      timeoutMs: 60_000,
      description: 'three workers sharing the partitions',
    });
    const victim = team[1]!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).to.equal('SIGKILL');
    const victims = [
      ...new Set(
        readSink(sinkFile)
          .filter((line) => line.run === 2 && line.at >= killedAt - 1000)
          .map((line) => line.partition),
      ),
    ].sort();
    expect(victims, 'partitions the killed worker was processing').to.have.length.greaterThan(0);
    const resumedAt = new Map<number, number>();
    await waitFor(
      () => {
        for (const line of readSink(sinkFile))
          if (line.run !== 2 && line.at > killedAt && victims.includes(line.partition))
            resumedAt.set(line.partition, Math.min(resumedAt.get(line.partition) ?? Infinity, line.at));
        return victims.every((p) => resumedAt.has(p));
      },
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        description: "the killed worker's partitions to be processed again",
      },
    );
    const stalls = victims.map((p) => (resumedAt.get(p)! - killedAt) / 1000);
    const { duplicates } = await finish(load);
    const survivors = [team[0]!, team[2]!];
    for (const worker of survivors) worker.child.kill('SIGTERM');
    for (const worker of survivors) expect((await worker.exited).code, worker.stderr()).to.equal(0);

    const noisy = survivors.flatMap(noisyLines);
    const joins = survivors.flatMap(infoLines).filter((line) => line.includes('kafka consumer joined group'));
    console.log(
      `      partitions ${victims.join(', ')} of the killed worker processed again after ${stalls.map((s) => s.toFixed(2)).join(', ')} s ` +
        `(session timeout ${SESSION_TIMEOUT_MS / 1000} s); ${duplicates} records processed twice; ` +
        `survivors' warn/error lines: ${noisy.length}, join lines (info): ${joins.length}`,
    );
    for (const line of noisy) console.log(`        ${line.slice(0, 300)}`);
    // A crash costs the session timeout (the broker's only way to tell a dead member), plus a rejoin:
    // well under kafkajs's default of 30 s.
    expect(Math.max(...stalls), 'seconds until the partitions were processed again').to.be.below(
      SESSION_TIMEOUT_MS / 1000 + 5,
    );
    // Another worker's crash is a routine rebalance for the survivors: info lines, no warning.
    expect(noisy, 'warn/error lines of the survivors').to.deep.equal([]);
    expect(joins.length, 'one join line per survivor per rebalance').to.be.at.least(2);
  });

  it('a rolling restart with SIGTERM: no partition waits for a session timeout, and every record is processed', async () => {
    const { topic, start, allFlowing, finish } = await setUp('failover-roll');
    const team = [start(1), start(2), start(3)];
    await Promise.all(team.map((worker) => worker.ready));
    const load = steadyLoad(transport, topic);
    await waitFor(() => allFlowing(2000), { timeoutMs: 60_000, description: 'every partition processed' });
    const from = Date.now();
    const exits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const old = team[i]!;
      old.child.kill('SIGTERM');
      const { code } = await old.exited;
      expect(code, old.stderr()).to.equal(0);
      exits.push((Date.now() - from) / 1000);
      const fresh = start(4 + i);
      team[i] = fresh;
      await fresh.ready;
      await waitFor(() => allFlowing(), {
        timeoutMs: 60_000,
        description: 'every partition processed again',
      });
    }
    const to = Date.now();
    const { lines, duplicates } = await finish(load);
    for (const worker of team) worker.child.kill('SIGTERM');
    for (const worker of team) expect((await worker.exited).code, worker.stderr()).to.equal(0);

    const gaps = longestGaps(lines, from, to);
    const longest = Math.max(...gaps.values()) / 1000;
    const noisy = workers.flatMap(noisyLines);
    console.log(
      `      rolling restart of 3 workers in ${((to - from) / 1000).toFixed(1)} s (stops done at ${exits.map((s) => s.toFixed(1)).join(', ')} s): ` +
        `longest wait per partition ${[...gaps.values()].map((ms) => (ms / 1000).toFixed(2)).join(', ')} s; ` +
        `${duplicates} records processed twice; warn/error lines: ${noisy.length}`,
    );
    for (const line of noisy) console.log(`        ${line.slice(0, 300)}`);
    // A worker that stops leaves its group at once: its partitions move within a rebalance, never
    // after a session timeout (10 s).
    expect(longest, 'longest wait of a partition, in seconds').to.be.below(SESSION_TIMEOUT_MS / 1000 / 2);
    expect(noisy, 'warn/error lines').to.deep.equal([]);
  });
});
