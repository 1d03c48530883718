/**
 * `npm run bench:streams`: rivulet's stateful readers side by side with Kafka Streams 3.9.1 on the same
 * broker (scripts/services.sh, or RIVULET_KAFKA_BROKERS) and the same cores. One keyed topic is produced
 * once: BENCH_RECORDS (default 300,000) records of about 200 bytes, BENCH_KEYS (default 1,000) keys, in
 * BENCH_PARTITIONS (default 6) partitions by key, record timestamps spread over BENCH_SPAN_MS (default 10
 * minutes) ending two hours ago. Then, each in a fresh process and group, rotating from round to round:
 *
 * - `stateless`: a rivulet agent `mapValue → settle` (the baseline of the ratios);
 * - `table`: rivulet counting per key with `updateTable` into a table (memory store + changelog);
 * - `tumbling`: rivulet counting per key in 1-minute tumbling windows (`aggregateWindows`, grace 1 s);
 * - `streams-count`: Kafka Streams `groupByKey().count()` (RocksDB store + changelog);
 * - `streams-tumbling`: Kafka Streams `groupByKey().windowedBy(1 minute, grace 1 s).count()`.
 *
 * A rivulet rate runs from the first record to the last one settled (an `updateTable` or
 * `aggregateWindows` message moves on once its change is queued for the changelog, as Kafka Streams'
 * record cache); a Kafka Streams rate from the first record to the last one processed (its
 * change may still be in the record cache, flushed at the next commit, every second here). The commit
 * that covers every record is reported too (`to commit`: for a table, every change acknowledged),
 * and the ratios of those rates. The table reader checks that its counts sum
 * to the records. The Java reader (bench/kafka-streams) is built with Maven on first use. The rivulet
 * readers run compiled with tsc, by plain node, as an app runs the package (BENCH_SOURCE=1: under tsx).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type App,
  aggregateWindows,
  count,
  createApp,
  json,
  mapValue,
  silentLogger,
  string,
  tumbling,
  updateTable,
} from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { waitFor, waitForCommitted } from '../lib/testing/index.js';
import { ROOT, readerScript } from './compile.js';
import { machine } from './machine.js';

const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_RECORDS ?? 300_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const SPAN_MS = Number(process.env.BENCH_SPAN_MS ?? 600_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WINDOW_MS = 60_000;
const GRACE_MS = 1000;
const BROKERS = process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092';
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const TOPIC = process.env.BENCH_TOPIC ?? `bench-streams-${suffix}`;
/** The Java reader's folder (a compiled child is told where it is). */
const JAVA_DIR = process.env.BENCH_JAVA_DIR ?? join(ROOT, 'bench/kafka-streams/');

type Reader = 'stateless' | 'table' | 'tumbling' | 'streams-count' | 'streams-tumbling';
interface Reading {
  readonly rate: number;
  /** Kafka Streams: the rate up to the commit covering every record. */
  readonly committedRate?: number | null;
}

const transport = (): KafkaTransport =>
  new KafkaTransport({ brokers: BROKERS.split(','), clientId: 'bench-streams', logger: silentLogger });

async function produce(): Promise<number> {
  const producer = transport();
  await producer.ensureTopics([{ name: TOPIC, partitions: PARTITIONS }]);
  const padding = 'x'.repeat(160);
  const base = Date.now() - SPAN_MS - 7_200_000;
  const started = Date.now();
  const chunk = 10_000;
  for (let start = 0; start < COUNT; start += chunk) {
    const records = Array.from({ length: Math.min(chunk, COUNT - start) }, (_, n) => {
      const i = start + n;
      return {
        topic: TOPIC,
        key: Buffer.from(`key-${(i * 7919) % KEYS}`),
        value: Buffer.from(`{"id":${String(i).padStart(9, '0')},"pad":"${padding}"}`),
        timestamp: base + Math.floor((i * SPAN_MS) / COUNT),
      };
    });
    // in order, one produce at a time: event time only moves forward within a partition
    await producer.produce(records);
  }
  await producer.close();
  return COUNT / ((Date.now() - started) / 1000);
}

async function settled(app: App, description: string): Promise<number> {
  await waitFor(() => app.agents[0]!.stats().settled >= COUNT, {
    timeoutMs: 900_000,
    intervalMs: 5,
    description,
  });
  return Date.now();
}

/** When the agent's commits cover every record it settled (its held offsets, changes in flight, released). */
async function committed(app: App): Promise<number> {
  await waitFor(
    () =>
      app.agents[0]!.stats().partitions.every(
        (partition) => partition.committable !== undefined && partition.committed === partition.committable,
      ),
    { timeoutMs: 120_000, intervalMs: 5, description: 'the commits covering every record' },
  );
  return Date.now();
}

async function stateless(round: number): Promise<Reading> {
  const app = createApp({ id: `bench-s-${suffix}-${round}`, transport: transport(), logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  let started = 0;
  app.agent('read', topic, (message$) =>
    message$.pipe(
      mapValue((value) => {
        if (started === 0) started = Date.now();
        return value.length;
      }),
    ),
  );
  await app.start();
  const rate = COUNT / (((await settled(app, 'the stateless agent')) - started) / 1000);
  const committedRate = COUNT / (((await committed(app)) - started) / 1000);
  await waitForCommitted(app, { timeoutMs: 60_000 });
  await app.stop();
  return { rate, committedRate };
}

async function table(round: number): Promise<Reading> {
  const app = createApp({ id: `bench-t-${suffix}-${round}`, transport: transport(), logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  const counts = app.table<number>('counts', { value: json(), default: () => 0 });
  let started = 0;
  app.agent('read', topic, (message$) =>
    message$.pipe(
      updateTable(counts, (n) => n + 1, {
        key: (message) => {
          if (started === 0) started = Date.now();
          return message.key!;
        },
      }),
    ),
  );
  await app.start();
  const rate = COUNT / (((await settled(app, 'the table agent')) - started) / 1000);
  const committedRate = COUNT / (((await committed(app)) - started) / 1000);
  await waitForCommitted(app, { timeoutMs: 60_000 });
  let sum = 0;
  for (let k = 0; k < KEYS; k++) sum += counts.get(`key-${k}`);
  await app.stop();
  if (sum !== COUNT) throw new Error(`the table counts sum to ${sum}, not ${COUNT}`);
  return { rate, committedRate };
}

async function windowed(round: number): Promise<Reading> {
  const app = createApp({ id: `bench-w-${suffix}-${round}`, transport: transport(), logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  const counts = app.windowTable<string, number>('counts', {
    window: tumbling(WINDOW_MS),
    aggregate: count(),
    graceMs: GRACE_MS,
  });
  let started = 0;
  let finalSum = 0;
  app.agent('read', topic, (message$) =>
    message$.pipe(
      aggregateWindows(counts, {
        key: (message) => {
          if (started === 0) started = Date.now();
          return message.key!;
        },
      }),
      mapValue((result) => {
        if (result.final) finalSum += result.value;
        return result;
      }),
    ),
  );
  await app.start();
  const rate = COUNT / (((await settled(app, 'the tumbling agent')) - started) / 1000);
  const committedRate = COUNT / (((await committed(app)) - started) / 1000);
  // the last windows close once the partitions are idle (event time then follows the wall clock)
  await waitFor(() => finalSum >= COUNT, { timeoutMs: 120_000, description: 'the final window counts' });
  await app.stop();
  if (finalSum !== COUNT) throw new Error(`the final window counts sum to ${finalSum}, not ${COUNT}`);
  return { rate, committedRate };
}

async function streams(mode: 'count' | 'tumbling', round: number): Promise<Reading> {
  const { stdout } = await run(
    'java',
    [
      '-Xmx1g',
      '-cp',
      `${JAVA_DIR}target/kafka-streams-reader-0.jar:${JAVA_DIR}target/lib/*`,
      'rivulet.bench.StreamsReader',
      mode,
      BROKERS,
      TOPIC,
      String(COUNT),
      `bench-ks-${mode}-${suffix}-${round}`,
      String(WINDOW_MS),
      String(GRACE_MS),
    ],
    { maxBuffer: 1 << 20 },
  );
  const reading = JSON.parse(stdout.trim().split('\n').at(-1)!) as Reading & { records: number };
  if (reading.records !== COUNT) throw new Error(`Kafka Streams read ${reading.records} of ${COUNT}`);
  return reading;
}

const read = (reader: Reader, round: number): Promise<Reading> =>
  reader === 'stateless'
    ? stateless(round)
    : reader === 'table'
      ? table(round)
      : reader === 'tumbling'
        ? windowed(round)
        : streams(reader === 'streams-count' ? 'count' : 'tumbling', round);

const fmt = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} msg/s`;
const LABELS: Record<Reader, string> = {
  stateless: 'rivulet stateless (mapValue → settle)',
  table: 'rivulet table count (updateTable)',
  tumbling: 'rivulet tumbling 1 min count (aggregateWindows)',
  'streams-count': 'Kafka Streams count by key',
  'streams-tumbling': 'Kafka Streams tumbling 1 min count',
};

const child = process.env.BENCH_CHILD as Reader | undefined;
if (child) {
  process.stdout.write(`${JSON.stringify(await read(child, Number(process.env.BENCH_ROUND ?? 0)))}\n`);
} else {
  console.log(`machine: ${machine()}`);
  if (!existsSync(`${JAVA_DIR}target/lib`)) {
    console.log('building the Kafka Streams reader (Maven)…');
    await run('mvn', [
      '-B',
      '-q',
      '-f',
      `${JAVA_DIR}pom.xml`,
      'package',
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      '-DoutputDirectory=target/lib',
    ]);
  }
  if (!process.env.BENCH_TOPIC) console.log(`produced ${TOPIC}: ${fmt(await produce())}`);
  console.log(
    `${COUNT.toLocaleString('en-US')} records of ~200 bytes, ${KEYS} keys, ${PARTITIONS} partitions, event times over ${SPAN_MS / 1000} s`,
  );
  const READERS = (process.env.BENCH_READERS?.split(',') ?? [
    'stateless',
    'table',
    'tumbling',
    'streams-count',
    'streams-tumbling',
  ]) as Reader[];
  const rates = new Map<Reader, number[]>(READERS.map((reader) => [reader, []]));
  const toCommit = new Map<Reader, number[]>(READERS.map((reader) => [reader, []]));
  // The readers run compiled (as a user's app runs the package), unless BENCH_SOURCE=1 (under tsx).
  const script = await readerScript(import.meta.url, 'rivulet-bench-streams-');
  const { work } = script;
  console.log(`readers run ${work ? 'compiled (tsc), by plain node' : 'from source, under tsx'}`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const reader of READERS.map((_, i) => READERS[(i + round) % READERS.length]!)) {
      const { stdout } = await run(process.execPath, script.args, {
        env: {
          ...process.env,
          BENCH_CHILD: reader,
          BENCH_ROUND: String(round),
          BENCH_TOPIC: TOPIC,
          BENCH_JAVA_DIR: JAVA_DIR,
        },
        maxBuffer: 1 << 20,
      });
      const reading = JSON.parse(stdout.trim().split('\n').at(-1)!) as Reading;
      rates.get(reader)!.push(reading.rate);
      if (reading.committedRate) toCommit.get(reader)!.push(reading.committedRate);
      const commit = reading.committedRate ? ` (to commit: ${fmt(reading.committedRate)})` : '';
      console.log(`round ${round + 1}: ${LABELS[reader]}: ${fmt(reading.rate)}${commit}`);
    }
  }
  const mean = (reader: Reader, of = rates): number | undefined => {
    const values = of.get(reader);
    return values?.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
  };
  for (const reader of READERS) {
    const commit = mean(reader, toCommit);
    console.log(
      `mean ${LABELS[reader]}: ${fmt(mean(reader)!)}${commit ? ` (to commit: ${fmt(commit)})` : ''}`,
    );
  }
  const ratio = (a: Reader, b: Reader): void => {
    for (const [what, of] of [
      ['', rates],
      [' (to commit)', toCommit],
    ] as const) {
      const x = mean(a, of);
      const y = mean(b, of);
      if (x !== undefined && y !== undefined) console.log(`ratio${what} ${a} / ${b}: ${(x / y).toFixed(2)}`);
    }
  };
  ratio('table', 'streams-count');
  ratio('tumbling', 'streams-tumbling');
  ratio('table', 'stateless');
  ratio('tumbling', 'table');
  script.remove();
}
