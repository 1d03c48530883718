/**
 * `npm run bench:kafka`: consumption throughput on a real Kafka (scripts/services.sh, or
 * RIVULET_KAFKA_BROKERS). Produces BENCH_COUNT (default 1,000,000) records of about 200 bytes to a fresh
 * topic with several partitions, then reads them all in rotating rounds: (a) a raw kafkajs `eachBatch`
 * consumer that only counts, (b) the same doing the agent's work by hand (decode, map, commit), (c) a
 * rivulet agent `mapValue → settle` with the string codec, (d) `rivulet-table`: the same agent counting
 * with `updateTable(counts, (n) => n + 1)` into a table (a changelog write per record, acknowledged before
 * the record settles), and reports msg/s for each and the ratios. Each consumer uses its own fresh group
 * (and table) and reads from the beginning. Each reading runs in a fresh process; the readers run
 * compiled with tsc, by plain node, as an app runs the package (BENCH_SOURCE=1: under tsx, whose
 * transform wraps the functions rivulet makes per record and slows it, not the raw readers).
 */
import { execFile } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createApp, json, mapValue, silentLogger, string, updateTable } from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { partitionForKey } from '../lib/transports/partitioner.js';
import { waitFor, waitForCommitted } from '../lib/testing/index.js';
import { compile, readerScript } from './compile.js';
import { machine } from './machine.js';

const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
/** BENCH_TOPIC reuses a topic of an earlier run (with BENCH_COUNT records), for profiling one reader. */
const TOPIC = process.env.BENCH_TOPIC ?? `bench-kafka-${suffix}`;

/**
 * BENCH_MAX_IN_FLIGHT and BENCH_COMMIT_INTERVAL_MS set the rivulet readers' `maxInFlight` and
 * `commitIntervalMs` (all of them; default: the agent's).
 */
const AGENT_OPTIONS = {
  ...(process.env.BENCH_MAX_IN_FLIGHT ? { maxInFlight: Number(process.env.BENCH_MAX_IN_FLIGHT) } : {}),
  ...(process.env.BENCH_COMMIT_INTERVAL_MS
    ? { commitIntervalMs: Number(process.env.BENCH_COMMIT_INTERVAL_MS) }
    : {}),
};

async function produce(transport: KafkaTransport): Promise<number> {
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
  return COUNT / ((Date.now() - started) / 1000);
}

/**
 * A raw kafkajs `eachBatch` reader. `work: 'count'` only counts records (the client's ceiling);
 * `work: 'map'` does what the rivulet agent does, written by hand: decode each value to a string, map
 * it, resolve offsets, and commit the way the agent does (kafkajs's autoCommit, every 100 ms).
 */
async function raw(round: number, work: 'count' | 'map'): Promise<number> {
  const kafka = new Kafka({ brokers: BROKERS, clientId: 'bench-raw', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-raw-${work}-${suffix}-${round}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  let count = 0;
  let bytes = 0;
  let started = 0;
  await consumer.run({
    autoCommit: work === 'map',
    // Committing like rivulet: at most every 100 ms (the agent's default `commitIntervalMs`, or
    // BENCH_COMMIT_INTERVAL_MS), not after every batch as kafkajs's autoCommit does by default.
    autoCommitInterval: Number(process.env.BENCH_COMMIT_INTERVAL_MS ?? 100),
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (started === 0) started = Date.now();
      if (work === 'map')
        for (const message of batch.messages) bytes += message.value?.toString('utf8').length ?? 0;
      else for (const message of batch.messages) bytes += message.value?.length ?? 0;
      count += batch.messages.length;
      resolveOffset(batch.lastOffset());
    },
  });
  await waitFor(() => count >= COUNT, { timeoutMs: 600_000, intervalMs: 5, description: 'raw consumer' });
  const rate = COUNT / ((Date.now() - started) / 1000);
  await consumer.disconnect();
  if (bytes === 0) throw new Error('no bytes read');
  return rate;
}

/** What the rivulet reader uses of the library: this checkout's, or another one's (BENCH_BASELINE_LIB). */
interface RivuletLib {
  readonly createApp: typeof createApp;
  readonly mapValue: typeof mapValue;
  readonly silentLogger: typeof silentLogger;
  readonly string: typeof string;
  readonly waitFor: typeof waitFor;
  readonly waitForCommitted: typeof waitForCommitted;
  readonly KafkaTransport: typeof KafkaTransport;
}
const CURRENT: RivuletLib = {
  createApp,
  mapValue,
  silentLogger,
  string,
  waitFor,
  waitForCommitted,
  KafkaTransport,
};

/**
 * The library of another checkout, for the `rivulet-base` reader: BENCH_BASELINE_LIB is its `lib`
 * folder (e.g. a `git worktree` of the old main), imported through tsx like this one. The folder must
 * have the checkout's `tsconfig.json` and `package.json` beside it: tsx compiles a bare copy of `lib`
 * without them, and it runs slower (0.8 of the same code in a checkout, BENCHMARKS.md).
 */
async function baselineLib(): Promise<RivuletLib> {
  // compiled by the parent (BENCH_BASELINE_COMPILED, its `lib` built with tsc), or the sources under tsx
  const compiled = process.env.BENCH_BASELINE_COMPILED;
  const dir = compiled ?? process.env.BENCH_BASELINE_LIB;
  if (!dir)
    throw new Error("the rivulet-base reader needs BENCH_BASELINE_LIB (another checkout's lib folder)");
  const ext = compiled ? 'js' : 'ts';
  const url = (file: string): string => pathToFileURL(`${dir}/${file}.${ext}`).href;
  const [index, kafka, testing] = await Promise.all([
    import(url('index')),
    import(url('kafka')),
    import(url('testing/index')),
  ]);
  return { ...index, ...kafka, ...testing } as RivuletLib;
}

/**
 * Fetch sizes of the rivulet readers: BENCH_MAX_BYTES_PER_PARTITION and BENCH_MAX_BYTES override the
 * transport's defaults (to measure what the caps cost), for both rivulet readers.
 */
const FETCH_OPTIONS = {
  ...(process.env.BENCH_MAX_BYTES ? { maxBytes: Number(process.env.BENCH_MAX_BYTES) } : {}),
  ...(process.env.BENCH_MAX_BYTES_PER_PARTITION
    ? { maxBytesPerPartition: Number(process.env.BENCH_MAX_BYTES_PER_PARTITION) }
    : {}),
};

async function rivulet(round: number, lib: RivuletLib): Promise<number> {
  const app = lib.createApp({
    id: `bench-rivulet-${suffix}-${round}-${lib === CURRENT ? 'current' : 'base'}`,
    transport: new lib.KafkaTransport({
      brokers: BROKERS,
      clientId: 'bench-rivulet',
      logger: lib.silentLogger,
      ...FETCH_OPTIONS,
    }),
    logger: lib.silentLogger,
  });
  const topic = app.topic(TOPIC, { value: lib.string() });
  let started = 0;
  let length = 0;
  const agent = app.agent(
    'read',
    topic,
    (message$) =>
      message$.pipe(
        lib.mapValue((value) => {
          if (started === 0) started = Date.now();
          length += value.length;
          return value;
        }),
      ),
    AGENT_OPTIONS,
  );
  await app.start();
  await lib.waitFor(() => agent.stats().settled >= COUNT, {
    timeoutMs: 600_000,
    intervalMs: 5,
    description: 'rivulet agent',
  });
  const rate = COUNT / ((Date.now() - started) / 1000);
  await lib.waitForCommitted(app, { timeoutMs: 60_000 });
  await app.stop();
  if (length === 0) throw new Error('no values read');
  return rate;
}

/** Table keys per partition: the topic's records have no key, so each record gets a key of its partition. */
const TABLE_KEYS = 1000;
function keysByPartition(): string[][] {
  const keys: string[][] = Array.from({ length: PARTITIONS }, () => []);
  for (let i = 0; keys.some((list) => list.length < TABLE_KEYS / PARTITIONS); i++) {
    const list = keys[partitionForKey(Buffer.from(`k${i}`), PARTITIONS)]!;
    if (list.length < TABLE_KEYS / PARTITIONS) list.push(`k${i}`);
  }
  return keys;
}

/** The rivulet agent counting per key into a table (memory store): a changelog write per record. */
async function rivuletTable(round: number): Promise<number> {
  const id = `bench-table-${suffix}-${round}`;
  const transport = new KafkaTransport({ brokers: BROKERS, clientId: 'bench-table', logger: silentLogger });
  // Counts the changelog's produces (printed to stderr). BENCH_FAKE_PRODUCE=1 acknowledges them without
  // a broker: the table path's own ceiling, for profiling (not a reading of the table reader).
  const produce = transport.produce.bind(transport);
  const sent = { calls: 0, records: 0 };
  transport.produce = (records) => {
    const first = sent.records;
    sent.calls++;
    sent.records += records.length;
    if (!process.env.BENCH_FAKE_PRODUCE) return produce(records);
    return Promise.resolve(
      records.map((r, i) => ({ topic: r.topic, partition: r.partition ?? 0, offset: first + i })),
    );
  };
  const app = createApp({ id, transport, logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  const counts = app.table<number>('counts', { value: json(), default: () => 0 });
  const keys = keysByPartition();
  let started = 0;
  const agent = app.agent(
    'read',
    topic,
    (message$) =>
      message$.pipe(
        updateTable(counts, (n) => n + 1, {
          key: (message) => {
            if (started === 0) started = Date.now();
            const list = keys[message.partition]!;
            return list[message.offset % list.length]!;
          },
        }),
      ),
    AGENT_OPTIONS,
  );
  await app.start();
  await waitFor(() => agent.stats().settled >= COUNT, {
    timeoutMs: 600_000,
    intervalMs: 5,
    description: 'rivulet table agent',
  });
  const rate = COUNT / ((Date.now() - started) / 1000);
  await waitForCommitted(app, { timeoutMs: 60_000 });
  const total = counts
    .ownedPartitions()
    .reduce(
      (sum, p) => sum + counts.keys(p, { limit: TABLE_KEYS }).keys.reduce((s, key) => s + counts.get(key), 0),
      0,
    );
  await app.stop();
  process.stderr.write(`changelog: ${sent.records} records in ${sent.calls} produces\n`);
  if (total !== COUNT) throw new Error(`the table counted ${total} records of ${COUNT}`);
  return rate;
}

const fmt = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} msg/s`;

type Reader = 'raw-count' | 'raw-map' | 'rivulet' | 'rivulet-base' | 'rivulet-table';
const read = async (reader: Reader, round: number): Promise<number> =>
  reader === 'rivulet'
    ? rivulet(round, CURRENT)
    : reader === 'rivulet-base'
      ? rivulet(round, await baselineLib())
      : reader === 'rivulet-table'
        ? rivuletTable(round)
        : raw(round, reader === 'raw-map' ? 'map' : 'count');

const child = process.env.BENCH_CHILD as Reader | undefined;
if (child) {
  // One reader in a fresh process: no JIT, heap or connection state carried over from another reader.
  const rate = await read(child, Number(process.env.BENCH_ROUND ?? 0));
  process.stdout.write(`${JSON.stringify({ rate })}\n`);
} else {
  console.log(`machine: ${machine()}`);
  console.log(
    `topic ${TOPIC}: ${COUNT.toLocaleString('en-US')} records of ~200 bytes in ${PARTITIONS} partitions`,
  );
  const transport = new KafkaTransport({
    brokers: BROKERS,
    clientId: 'bench-producer',
    logger: silentLogger,
  });
  if (!process.env.BENCH_TOPIC)
    console.log(`produce (rivulet transport, idempotent): ${fmt(await produce(transport))}`);
  await transport.close();
  // Each reading runs in its own process, and the readers' order rotates from round to round so that
  // none always runs on the warmer page cache or broker: each reader's rate is the mean of its rounds.
  // A reader may carry environment settings of its own, after `+`: `rivulet+BENCH_MAX_BYTES=10485760`
  // is the rivulet reader with other fetch sizes, in the same run as the plain one.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const READERS =
    process.env.BENCH_READERS?.split(',') ??
    (process.env.BENCH_BASELINE_LIB
      ? ['raw-count', 'raw-map', 'rivulet', 'rivulet-base']
      : ['raw-count', 'raw-map', 'rivulet']);
  const LABELS: Record<Reader, string> = {
    'raw-count': 'raw kafkajs eachBatch, counting only',
    'raw-map': 'raw kafkajs eachBatch, decode + map + commit by hand',
    rivulet: 'rivulet agent (mapValue → settle)',
    'rivulet-base': `rivulet agent of ${process.env.BENCH_BASELINE_LIB ?? 'the baseline'}`,
    'rivulet-table': 'rivulet agent (updateTable count → settle)',
  };
  const parse = (spec: string): { reader: Reader; env: Record<string, string>; label: string } => {
    const [reader, ...settings] = spec.split('+') as [Reader, ...string[]];
    if (!(reader in LABELS)) throw new Error(`unknown reader ${reader}`);
    const env = Object.fromEntries(settings.map((setting) => setting.split('=') as [string, string]));
    return { reader, env, label: [LABELS[reader], ...settings].join(', ') };
  };
  // The readers run compiled (as a user's app runs the package), unless BENCH_SOURCE=1 (under tsx),
  // and the baseline's lib is compiled beside them.
  const script = await readerScript(import.meta.url, 'rivulet-bench-kafka-');
  const { work } = script;
  const compiled: Record<string, string> = {};
  const baseline = process.env.BENCH_BASELINE_LIB;
  if (work && baseline) {
    await compile(dirname(resolve(baseline)), [resolve(baseline)], join(work, 'base'));
    compiled.BENCH_BASELINE_COMPILED = join(work, 'base', basename(resolve(baseline)));
  }
  console.log(`readers run ${work ? 'compiled (tsc), by plain node' : 'from source, under tsx'}`);
  const rates = new Map<string, number[]>(READERS.map((spec) => [spec, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = READERS.map((_, i) => READERS[(i + round) % READERS.length]!);
    for (const spec of order) {
      const { reader, env, label } = parse(spec);
      const { stdout } = await run(process.execPath, script.args, {
        env: {
          ...process.env,
          ...compiled,
          ...env,
          BENCH_CHILD: reader,
          BENCH_ROUND: String(round),
          BENCH_TOPIC: TOPIC,
        },
        maxBuffer: 1 << 20,
      });
      const { rate } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rate: number };
      rates.get(spec)!.push(rate);
      console.log(`round ${round + 1}: ${label}: ${fmt(rate)}`);
    }
  }
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  for (const spec of READERS) console.log(`mean ${parse(spec).label}: ${fmt(mean(rates.get(spec)!))}`);
  // Each reader against the references of the same run: the ratio of the means, and its range over
  // the rounds (each round's pair ran back to back, so a round's ratio is less exposed to the load).
  const ratio = (of: string, to: string): string => {
    const a = rates.get(of)!;
    const b = rates.get(to)!;
    const rounds = a.map((rate, i) => rate / b[i]!);
    return `${(mean(a) / mean(b)).toFixed(2)} (rounds ${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)})`;
  };
  const references = ['raw-count', 'raw-map', 'rivulet-base', 'rivulet'].filter((r) => rates.has(r));
  for (const spec of READERS)
    for (const reference of references)
      if (
        spec !== reference &&
        !(references.indexOf(spec) >= 0 && references.indexOf(spec) < references.indexOf(reference))
      )
        console.log(`ratio ${spec} / ${reference}: ${ratio(spec, reference)}`);
  script.remove();
}
