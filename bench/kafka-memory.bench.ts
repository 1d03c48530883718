/**
 * `npm run bench:kafka-memory`: memory of an agent behind a slow sink on a real Kafka
 * (scripts/services.sh, or RIVULET_KAFKA_BROKERS). Produces BENCH_COUNT (default 1,000,000) records of
 * about 200 bytes to a fresh topic (or reuses BENCH_TOPIC), then reads it in rotating rounds
 * (BENCH_ROUNDS, default 2), each reader in its own child process and consumer group, for BENCH_SECONDS
 * (default 30), behind a sink that takes 10 ms per batch of up to 500 records:
 *
 * - `rivulet`: an agent on this checkout's library;
 * - `kafkajs`: plain kafkajs doing the same by hand (the reference);
 * - one reader per entry of BENCH_BASELINE_LIB (`name=<lib folder>` or a bare folder, named `main`,
 *   comma-separated): an agent on another checkout's library, e.g. a `git worktree` of main.
 *
 * Every library is compiled with tsc into a temporary folder and run by plain `node` (no tsx, whose
 * transform cache takes tens of MiB a user's process does not). Every second each child samples RSS,
 * heap used, heap total, external and ArrayBuffer memory, V8's young generation and the records settled;
 * the parent prints a table per reading and a summary with ratios. BENCH_READERS picks readers;
 * BENCH_MAX_IN_FLIGHT sets the agents' `maxInFlight`; BENCH_MAX_BYTES and BENCH_MAX_BYTES_PER_PARTITION
 * the consumers' fetch sizes (all readers).
 */
import { execFile } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import type { Sample } from './kafka-memory-child.js';
import { ROOT, compile, workFolder } from './compile.js';
import { machine } from './machine.js';

const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
/** BENCH_TOPIC reuses a topic of an earlier run (with BENCH_COUNT records). */
const TOPIC = process.env.BENCH_TOPIC ?? `bench-memory-${suffix}`;
const MiB = 2 ** 20;

async function produce(): Promise<number> {
  const transport = new KafkaTransport({
    brokers: BROKERS,
    clientId: 'bench-producer',
    logger: silentLogger,
  });
  await transport.ensureTopics([{ name: TOPIC, partitions: PARTITIONS }]);
  const padding = 'x'.repeat(160);
  const started = Date.now();
  const chunk = 10_000;
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < COUNT; start += chunk) {
    const records = Array.from({ length: Math.min(chunk, COUNT - start) }, (_, i) => ({
      topic: TOPIC,
      partition: (start + i) % PARTITIONS,
      key: null,
      value: Buffer.from(`{"id":${String(start + i).padStart(9, '0')},"pad":"${padding}"}`),
    }));
    inFlight.push(transport.produce(records));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await transport.close();
  return COUNT / ((Date.now() - started) / 1000);
}

interface Reader {
  readonly name: string;
  /** The compiled library (undefined for plain kafkajs). */
  readonly lib: string | undefined;
}

/** Compiles this checkout (lib and the child script) and every baseline into a temporary folder. */
async function build(work: string): Promise<{ child: string; readers: Reader[] }> {
  const self = join(work, 'self');
  await compile(ROOT, [join(ROOT, 'lib'), join(ROOT, 'bench/kafka-memory-child.ts')], self);
  const readers: Reader[] = [
    { name: 'rivulet', lib: join(self, 'lib') },
    { name: 'kafkajs', lib: undefined },
  ];
  const baselines = (process.env.BENCH_BASELINE_LIB ?? '').split(',').filter((entry) => entry !== '');
  for (const entry of baselines) {
    const [name, dir] = entry.includes('=') ? (entry.split('=') as [string, string]) : ['main', entry];
    // a copy beside the temporary node_modules, so that its imports resolve wherever the folder is
    const source = join(work, `src-${name}`);
    cpSync(resolve(dir), join(source, 'lib'), { recursive: true });
    const out = join(work, `base-${name}`);
    await compile(source, [join(source, 'lib')], out);
    readers.push({ name, lib: join(out, 'lib') });
  }
  const wanted = process.env.BENCH_READERS?.split(',');
  return {
    child: join(self, 'bench/kafka-memory-child.js'),
    readers: wanted ? readers.filter((reader) => wanted.includes(reader.name)) : readers,
  };
}

async function measure(child: string, reader: Reader, round: number): Promise<Sample[]> {
  const { stdout } = await run(process.execPath, [child], {
    env: {
      ...process.env,
      BENCH_READER: reader.lib === undefined ? 'kafkajs' : 'rivulet',
      ...(reader.lib !== undefined ? { BENCH_LIB: reader.lib } : {}),
      BENCH_TOPIC: TOPIC,
      BENCH_SECONDS: String(SECONDS),
      BENCH_GROUP: `bench-memory-${suffix}-${reader.name}-${round}`,
    },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Sample[];
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(0);

interface Summary {
  readonly peak: number;
  readonly growth: number;
  readonly heapPeak: number;
  readonly externalPeak: number;
  readonly settled: number;
}

function summarize(samples: readonly Sample[]): Summary {
  const after10 = samples.filter((s) => s.second >= 10);
  const peak = (pick: (s: Sample) => number, from: readonly Sample[] = samples): number =>
    Math.max(...from.map(pick));
  return {
    peak: peak((s) => s.rss),
    growth: after10.length > 0 ? peak((s) => s.rss, after10) - after10[0]!.rss : 0,
    heapPeak: peak((s) => s.heapUsed),
    externalPeak: peak((s) => s.external),
    settled: samples.at(-1)?.settled ?? 0,
  };
}

function table(label: string, samples: readonly Sample[]): string {
  const lines = [
    `\n${label}`,
    'second  rss MiB  heap used  heap total  new space  external  arrayBuffers    settled',
  ];
  for (const s of samples) {
    lines.push(
      [
        String(s.second).padStart(6),
        mib(s.rss).padStart(8),
        mib(s.heapUsed).padStart(11),
        mib(s.heapTotal).padStart(12),
        mib(s.newSpace).padStart(11),
        mib(s.external).padStart(10),
        mib(s.arrayBuffers).padStart(14),
        s.settled.toLocaleString('en-US').padStart(11),
      ].join(''),
    );
  }
  const s = summarize(samples);
  lines.push(
    `summary ${label}: RSS peak ${mib(s.peak)} MiB, growth after 10 s ${mib(s.growth)} MiB; heap used peak ` +
      `${mib(s.heapPeak)} MiB; external peak ${mib(s.externalPeak)} MiB; settled ${s.settled.toLocaleString('en-US')}`,
  );
  return lines.join('\n');
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

console.log(`machine: ${machine()}`);
console.log(
  `topic ${TOPIC}: ${COUNT.toLocaleString('en-US')} records of ~200 bytes in ${PARTITIONS} partitions; ` +
    `sink 10 ms per batch of up to 500; ${SECONDS} s per reading; ${ROUNDS} rounds`,
);
const work = workFolder('rivulet-bench-memory-');
try {
  const [{ child, readers }, rate] = await Promise.all([
    build(work),
    process.env.BENCH_TOPIC ? Promise.resolve(undefined) : produce(),
  ]);
  if (rate !== undefined) console.log(`produced at ${Math.round(rate)} msg/s`);
  const results = new Map<string, Summary[]>(readers.map((reader) => [reader.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = readers.map((_, i) => readers[(i + round) % readers.length]!);
    for (const reader of order) {
      const samples = await measure(child, reader, round);
      console.log(table(`round ${round + 1}: ${reader.name}`, samples));
      results.get(reader.name)!.push(summarize(samples));
    }
  }
  console.log('\nreader        RSS peak (each round)       growth after 10 s    settled (mean)');
  for (const [name, summaries] of results) {
    console.log(
      `${name.padEnd(12)}  ${mib(mean(summaries.map((s) => s.peak))).padStart(4)} MiB (${summaries.map((s) => mib(s.peak)).join(', ')})`.padEnd(
        42,
      ) +
        `${mib(mean(summaries.map((s) => s.growth))).padStart(4)} MiB (${summaries.map((s) => mib(s.growth)).join(', ')})`.padEnd(
          21,
        ) +
        Math.round(mean(summaries.map((s) => s.settled))).toLocaleString('en-US'),
    );
  }
  const peakOf = (name: string): number | undefined => {
    const summaries = results.get(name);
    return summaries && summaries.length > 0 ? mean(summaries.map((s) => s.peak)) : undefined;
  };
  // each agent against plain kafkajs, and against the first baseline (main)
  const firstBaseline = readers.find((reader) => reader.lib !== undefined && reader.name !== 'rivulet')?.name;
  for (const [name] of results) {
    for (const against of ['kafkajs', firstBaseline]) {
      const a = peakOf(name);
      const b = against === undefined ? undefined : peakOf(against);
      if (
        against !== undefined &&
        name !== against &&
        name !== 'kafkajs' &&
        a !== undefined &&
        b !== undefined
      )
        console.log(`RSS peak ${name} ÷ ${against}: ${(a / b).toFixed(2)}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
