/**
 * `npm run bench:windows`: windowed aggregation throughput, on memory:// and on a real Kafka
 * (scripts/services.sh, or RIVULET_KAFKA_BROKERS). The same records (BENCH_RECORDS, default 200,000, of
 * about 200 bytes, no key, in BENCH_PARTITIONS partitions) are read by:
 *
 * - `stateless`: a rivulet agent `mapValue → settle` (the baseline);
 * - `table`: the agent counting per key with `updateTable(counts, (n) => n + 1)` (the table baseline);
 * - `tumbling`, `hopping`, `sliding`: the agent counting per key and window with `aggregateWindows` into
 *   a `windowTable` (tumbling 10 s; hopping 50 s every 10 s, so 5 windows per record; sliding 10 s),
 *   the final results settled at the end of the pipeline.
 *
 * Each record gets one of BENCH_KEYS keys that hash to its partition, and an event time (its record
 * timestamp, the default `time`) spread evenly over BENCH_SPAN_MS (default 10 minutes) hours ago, up
 * to 500 ms out of order (grace 1 s, so no record is late): windows close all through the run. Each
 * partition ends with an end marker (value `end`, a key of its own, an hour later in event time),
 * which closes the records' last windows at once rather than after a window's length of wall clock
 * (an idle partition's event time moves on with the wall clock from its last record). The rate runs
 * from the first record to the last one settled, the end markers included. Each windowed reader then
 * waits for its final results and checks them against the records: the sum of tumbling counts equals
 * the records, of hopping counts 5 × that, and sliding gives one result per distinct (key, time)
 * with the count of its key's records in its window (the end markers' own windows are left out).
 *
 * Each reading runs in a fresh child process; the readers' order rotates from round to round. On
 * Kafka the topic is produced once and every reader uses a fresh group (and table); on memory:// each
 * child produces the same records into its own broker before it starts timing.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type App,
  type Message,
  MemoryBroker,
  MemoryTransport,
  type Transport,
  type WindowSpec,
  aggregateWindows,
  count,
  createApp,
  hopping,
  json,
  mapValue,
  silentLogger,
  sliding,
  string,
  tumbling,
  updateTable,
} from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import type { ProducerRecord } from '../lib/transports/transport.js';
import { partitionForKey } from '../lib/transports/partitioner.js';
import { waitFor, waitForCommitted } from '../lib/testing/index.js';
import { machine } from './machine.js';

const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_RECORDS ?? 200_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const SPAN_MS = Number(process.env.BENCH_SPAN_MS ?? 600_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
/** BENCH_TOPIC reuses a Kafka topic of an earlier run (with BENCH_RECORDS records), e.g. for profiling. */
const TOPIC = process.env.BENCH_TOPIC ?? `bench-windows-${suffix}`;
const GRACE_MS = 1000;
const JITTER_MS = 500;
const WINDOWS: Record<Windowed, WindowSpec> = {
  tumbling: tumbling(10_000),
  hopping: hopping(50_000, 10_000),
  sliding: sliding(10_000),
};

type Windowed = 'tumbling' | 'hopping' | 'sliding';
type Reader = 'stateless' | 'table' | Windowed;
type Where = 'memory' | 'kafka';

/** What a reading reports to the parent. */
interface Reading {
  readonly rate: number;
  /** Final results received, and the sum of their counts (windowed readers). */
  readonly finals?: number;
  readonly finalSum?: number;
  /** Seconds from the last record settled to the last final result (the idle close included). */
  readonly drainSeconds?: number;
  /** Changelog records produced, and the produce calls that carried them. */
  readonly changelog?: { readonly records: number; readonly calls: number };
}

/** Records read by every reader: the records, then one end marker per partition. */
const TOTAL = COUNT + PARTITIONS;
const END = 'end';

/** Event time of record `i`, relative to the run's base: evenly spread, up to JITTER_MS early. */
const eventTime = (i: number): number =>
  i >= COUNT ? SPAN_MS + 3_600_000 : Math.floor((i * SPAN_MS) / COUNT) - ((i * 7919) % JITTER_MS);

function records(base: number, from: number, to: number): ProducerRecord[] {
  const padding = 'x'.repeat(160);
  return Array.from({ length: to - from }, (_, n) => {
    const i = from + n;
    return {
      topic: TOPIC,
      partition: i % PARTITIONS,
      key: null,
      value: Buffer.from(i >= COUNT ? END : `{"id":${String(i).padStart(9, '0')},"pad":"${padding}"}`),
      timestamp: base + eventTime(i),
    };
  });
}

/** Event times end two hours ago: the wall clock plays no part in when windows close. */
const newBase = (): number => Date.now() - SPAN_MS - 7_200_000;

async function produce(transport: Transport, base: number): Promise<number> {
  const started = Date.now();
  const chunk = 10_000;
  // One produce at a time: concurrent ones may land out of order, making whole chunks late.
  for (let start = 0; start < TOTAL; start += chunk)
    await transport.produce(records(base, start, Math.min(TOTAL, start + chunk)));
  return COUNT / ((Date.now() - started) / 1000);
}

/**
 * `per` keys `<prefix><n>` for each partition, split by the partition they hash to (the window key's
 * partition must be the record's).
 */
function keysByPartition(prefix: string, per: number): string[][] {
  const keys: string[][] = Array.from({ length: PARTITIONS }, () => []);
  for (let i = 0; keys.some((list) => list.length < per); i++) {
    const list = keys[partitionForKey(Buffer.from(`${prefix}${i}`), PARTITIONS)]!;
    if (list.length < per) list.push(`${prefix}${i}`);
  }
  return keys;
}
const KEYS_BY_PARTITION = keysByPartition('k', Math.ceil(KEYS / PARTITIONS));
const END_KEYS = keysByPartition('end', 1);
/** Record `offset` of partition `p` has key `keys[p][offset % n]`; an end marker has its own key. */
const keyOf = (partition: number, offset: number, value?: string): string => {
  if (value === END) return END_KEYS[partition]![0]!;
  const list = KEYS_BY_PARTITION[partition]!;
  return list[offset % list.length]!;
};
const isEndKey = (key: string): boolean => key.startsWith(END);

/**
 * What sliding windows must give: one final result per distinct (key, time), counting the key's
 * records in `(time - size, time]`. Computed from the records' definition, not from the run.
 */
function expectedSliding(size: number): { finals: number; sum: number } {
  const times = new Map<string, number[]>();
  for (let i = 0; i < COUNT; i++) {
    const key = keyOf(i % PARTITIONS, Math.floor(i / PARTITIONS));
    let list = times.get(key);
    if (!list) times.set(key, (list = []));
    list.push(eventTime(i));
  }
  let finals = 0;
  let sum = 0;
  for (const list of times.values()) {
    list.sort((a, b) => a - b);
    let low = 0;
    for (let high = 0; high < list.length; high++) {
      const t = list[high]!;
      if (high + 1 < list.length && list[high + 1] === t) continue; // the last of equal times
      while (list[low]! <= t - size) low++;
      finals++;
      sum += high - low + 1;
    }
  }
  return { finals, sum };
}

/** Counts the produces of a transport (the changelog's, once the source records are in). */
function countProduces(transport: Transport): { records: number; calls: number } {
  const sent = { records: 0, calls: 0 };
  const produce = transport.produce.bind(transport);
  transport.produce = (batch) => {
    sent.calls++;
    sent.records += batch.length;
    return produce(batch);
  };
  return sent;
}

/** The transport of a reading: a memory broker holding the records, or Kafka. */
async function transportFor(
  where: Where,
  id: string,
  changelogs: Record<string, Record<string, string>>,
): Promise<Transport> {
  if (where === 'memory') {
    const transport = new MemoryTransport(new MemoryBroker({ defaultPartitions: PARTITIONS }));
    await produce(transport, newBase());
    return transport;
  }
  const transport = new KafkaTransport({ brokers: BROKERS, clientId: 'bench-windows', logger: silentLogger });
  // Changelogs made beforehand and read once: a first ListOffsets on a topic just created can fail
  // with NOT_LEADER_FOR_PARTITION, which would fail the agent (a known bug, not what this measures).
  for (const [name, config] of Object.entries(changelogs)) {
    const changelog = `${id}-${name}-changelog`;
    await transport.ensureTopics([{ name: changelog, partitions: PARTITIONS, config }]);
    await waitFor(
      () =>
        transport.endOffsets(changelog).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, description: 'the changelog to answer ListOffsets' },
    );
  }
  return transport;
}

async function settledAll(app: App, description: string): Promise<void> {
  await waitFor(() => app.agents[0]!.stats().settled >= TOTAL, {
    timeoutMs: 900_000,
    intervalMs: 5,
    description,
  });
}

async function stateless(where: Where, round: number): Promise<Reading> {
  const id = `bench-stateless-${suffix}-${round}`;
  const app = createApp({ id, transport: await transportFor(where, id, {}), logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  let started = 0;
  let length = 0;
  app.agent('read', topic, (message$) =>
    message$.pipe(
      mapValue((value) => {
        if (started === 0) started = Date.now();
        length += value.length;
        return value;
      }),
    ),
  );
  await app.start();
  await settledAll(app, 'the stateless agent');
  const rate = TOTAL / ((Date.now() - started) / 1000);
  await waitForCommitted(app, { timeoutMs: 60_000 });
  await app.stop();
  if (length === 0) throw new Error('no values read');
  return { rate };
}

async function table(where: Where, round: number): Promise<Reading> {
  const id = `bench-table-${suffix}-${round}`;
  const transport = await transportFor(where, id, { counts: { 'cleanup.policy': 'compact' } });
  const changelog = countProduces(transport);
  const app = createApp({ id, transport, logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  const counts = app.table<number>('counts', { value: json(), default: () => 0 });
  let started = 0;
  app.agent('read', topic, (message$) =>
    message$.pipe(
      updateTable(counts, (n) => n + 1, {
        key: (message) => {
          if (started === 0) started = Date.now();
          return keyOf(message.partition, message.offset, message.value);
        },
      }),
    ),
  );
  await app.start();
  await settledAll(app, 'the table agent');
  const rate = TOTAL / ((Date.now() - started) / 1000);
  await waitForCommitted(app, { timeoutMs: 60_000 });
  const total = counts
    .ownedPartitions()
    .reduce(
      (sum, p) => sum + counts.keys(p, { limit: KEYS + 1 }).keys.reduce((s, key) => s + counts.get(key), 0),
      0,
    );
  await app.stop();
  if (total !== TOTAL) throw new Error(`the table counted ${total} records of ${TOTAL}`);
  return { rate, changelog };
}

async function windowed(where: Where, kind: Windowed, round: number): Promise<Reading> {
  const id = `bench-${kind}-${suffix}-${round}`;
  const window = WINDOWS[kind];
  // the changelog's settings as the window table sets them (size + grace + a day of retention)
  const transport = await transportFor(where, id, {
    counts: {
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(window.size + GRACE_MS + 86_400_000),
    },
  });
  const changelog = countProduces(transport);
  const app = createApp({ id, transport, logger: silentLogger });
  const topic = app.topic(TOPIC, { value: string() });
  const counts = app.windowTable<string, number>('counts', {
    window,
    aggregate: count(),
    graceMs: GRACE_MS,
  });
  let started = 0;
  let finals = 0;
  let finalSum = 0;
  let lastFinal = 0;
  let notFinal = 0;
  app.agent('read', topic, (message$) =>
    message$.pipe(
      aggregateWindows(counts, {
        key: (message: Message<string, string | null>) => {
          if (started === 0) started = Date.now();
          return keyOf(message.partition, message.offset, message.value);
        },
      }),
      mapValue((result) => {
        if (isEndKey(result.key)) return result; // the end markers' windows close only when idle
        if (result.final) {
          finals++;
          finalSum += result.value;
          lastFinal = Date.now();
        } else notFinal++;
        return result;
      }),
    ),
  );
  await app.start();
  await settledAll(app, `the ${kind} agent`);
  const settledAt = Date.now();
  const rate = TOTAL / ((settledAt - started) / 1000);
  const expected =
    kind === 'sliding'
      ? expectedSliding(window.size)
      : { finals: undefined, sum: COUNT * (window.size / window.step) };
  // the end markers closed the records' windows; their results may still be on their way
  const done = (): boolean => finalSum >= expected.sum && counts.stats().pending === 0;
  await waitFor(done, { timeoutMs: 60_000, intervalMs: 20, description: `the ${kind} final results` }).catch(
    (error: unknown) => {
      throw new Error(
        `${kind}: ${finals} final results summing to ${finalSum} of ${expected.sum}; ${JSON.stringify(counts.stats())}`,
        { cause: error },
      );
    },
  );
  await waitForCommitted(app, { timeoutMs: 60_000 });
  const stats = counts.stats();
  await app.stop();
  if (finalSum !== expected.sum)
    throw new Error(`${kind}: the final counts sum to ${finalSum}, not ${expected.sum}`);
  if (expected.finals !== undefined && finals !== expected.finals)
    throw new Error(`${kind}: ${finals} final results, not ${expected.finals}`);
  if (notFinal !== 0) throw new Error(`${kind}: ${notFinal} results not final`);
  if (stats.lateDeadLettered + stats.lateDropped + stats.resultsDeadLettered !== 0)
    throw new Error(`${kind}: late or dead-lettered: ${JSON.stringify(stats)}`);
  return { rate, finals, finalSum, drainSeconds: Math.max(0, lastFinal - settledAt) / 1000, changelog };
}

const read = (where: Where, reader: Reader, round: number): Promise<Reading> =>
  reader === 'stateless'
    ? stateless(where, round)
    : reader === 'table'
      ? table(where, round)
      : windowed(where, reader, round);

const fmt = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} msg/s`;
const LABELS: Record<Reader, string> = {
  stateless: 'stateless (mapValue → settle)',
  table: 'table (updateTable count)',
  tumbling: 'tumbling 10 s count',
  hopping: 'hopping 50 s / 10 s count',
  sliding: 'sliding 10 s count',
};

const child = process.env.BENCH_CHILD as Reader | undefined;
if (child) {
  // One reader in a fresh process: no JIT, heap or connection state carried over from another reader.
  const reading = await read(process.env.BENCH_WHERE as Where, child, Number(process.env.BENCH_ROUND ?? 0));
  process.stdout.write(`${JSON.stringify(reading)}\n`);
} else {
  console.log(`machine: ${machine()}`);
  console.log(
    `${COUNT.toLocaleString('en-US')} records of ~200 bytes in ${PARTITIONS} partitions, ${KEYS} keys, ` +
      `event times over ${SPAN_MS / 1000} s (≤ ${JITTER_MS} ms out of order, grace ${GRACE_MS} ms)`,
  );
  const WHERE = (process.env.BENCH_TRANSPORTS?.split(',') ?? ['memory', 'kafka']) as Where[];
  const READERS = (process.env.BENCH_READERS?.split(',') ?? [
    'stateless',
    'table',
    'tumbling',
    'hopping',
    'sliding',
  ]) as Reader[];
  // BENCH_CPU_PROF=<dir> profiles every reading (node --cpu-prof), one .cpuprofile per child.
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
    : [];
  for (const where of WHERE) {
    if (where === 'kafka' && !process.env.BENCH_TOPIC) {
      const transport = new KafkaTransport({
        brokers: BROKERS,
        clientId: 'bench-producer',
        logger: silentLogger,
      });
      await transport.ensureTopics([{ name: TOPIC, partitions: PARTITIONS }]);
      console.log(`kafka: produced topic ${TOPIC}: ${fmt(await produce(transport, newBase()))}`);
      await transport.close();
    }
    const rates = new Map<Reader, number[]>(READERS.map((reader) => [reader, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = READERS.map((_, i) => READERS[(i + round) % READERS.length]!);
      for (const reader of order) {
        const { stdout } = await run(
          process.execPath,
          [...profile, '--import', 'tsx', fileURLToPath(import.meta.url)],
          {
            env: {
              ...process.env,
              BENCH_CHILD: reader,
              BENCH_WHERE: where,
              BENCH_ROUND: String(round),
              BENCH_TOPIC: TOPIC,
            },
            maxBuffer: 1 << 20,
          },
        );
        const reading = JSON.parse(stdout.trim().split('\n').at(-1)!) as Reading;
        rates.get(reader)!.push(reading.rate);
        const details = [
          reading.finals !== undefined
            ? `${reading.finals.toLocaleString('en-US')} final results, counts summing to ${reading.finalSum!.toLocaleString('en-US')} (checked), last ${reading.drainSeconds!.toFixed(1)} s after the last record`
            : '',
          reading.changelog
            ? `changelog ${reading.changelog.records.toLocaleString('en-US')} records in ${reading.changelog.calls.toLocaleString('en-US')} produces`
            : '',
        ].filter(Boolean);
        console.log(
          `${where} round ${round + 1}: ${LABELS[reader]}: ${fmt(reading.rate)}${details.length ? ` (${details.join('; ')})` : ''}`,
        );
      }
    }
    const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    const baseline = rates.get('stateless');
    for (const reader of READERS) {
      const rate = mean(rates.get(reader)!);
      const ratio = baseline?.length ? ` (${(rate / mean(baseline)).toFixed(3)} of stateless)` : '';
      console.log(`${where} mean ${LABELS[reader]}: ${fmt(rate)}${ratio}`);
    }
  }
}
