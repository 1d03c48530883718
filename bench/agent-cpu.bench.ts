/**
 * `node --import tsx bench/agent-cpu.bench.ts`: rivulet's own CPU per record on the Kafka path, without a
 * broker. A fake kafkajs consumer hands the `KafkaTransport` pre-built kafkajs messages (offsets and
 * timestamps as strings, 200-byte values) in batches of BENCH_BATCH (default 1500) as kafkajs's
 * `eachBatch` does, to an agent `mapValue → settle` with the string codec; the same messages go through a
 * by-hand loop (decode each value to a string, map it: what `bench:kafka`'s "raw, by hand" reader does per
 * record). So the broker, the network and kafkajs's decoding, which dominate `bench:kafka` and its noise,
 * are left out: what remains is what rivulet adds per record. Readers: `hand`, `rivulet` (this checkout)
 * and `rivulet-base+BENCH_BASELINE_LIB=<another lib folder>`, each in a fresh process, rotated each round.
 * Rates are records per second of the process's CPU time (not the wall clock). A baseline `lib` folder
 * needs its checkout's `tsconfig.json` and `package.json` beside it (see `bench/kafka.bench.ts`).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { tap } from 'rxjs';
import { createApp, mapValue, silentLogger, string } from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { waitFor } from '../lib/testing/index.js';
import { machine } from './machine.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 2_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1500);
const PARTITIONS = 6;
const TOPIC = 'cpu';

/** Batches of kafkajs messages, as its fetch decodes them (one value buffer per record, like a response's views). */
function batches(): { partition: number; messages: KafkaMessage[] }[] {
  const padding = 'x'.repeat(160);
  const result: { partition: number; messages: KafkaMessage[] }[] = [];
  const next = Array.from({ length: PARTITIONS }, () => 0);
  for (let start = 0; start < COUNT; start += BATCH) {
    const partition = (start / BATCH) % PARTITIONS;
    const messages: KafkaMessage[] = [];
    for (let i = start; i < Math.min(COUNT, start + BATCH); i++) {
      const offset = next[partition]!++;
      messages.push({
        magicByte: 2,
        attributes: 0,
        timestamp: String(1_765_000_000_000 + i),
        offset: String(offset),
        key: null,
        value: Buffer.from(`{"id":${String(i).padStart(9, '0')},"pad":"${padding}"}`),
        headers: {},
        isControlRecord: false,
        batchContext: {},
        size: 0,
      } as unknown as KafkaMessage);
    }
    result.push({ partition, messages });
  }
  return result;
}

/**
 * CPU time this process used (user and system, all threads: GC helpers included), in seconds: less
 * exposed to the other processes of a busy machine than the wall clock.
 */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Decode and map by hand: the per-record work of bench:kafka's "raw, by hand" reader. */
function hand(): number {
  const all = batches();
  let length = 0;
  const started = cpuSeconds();
  for (const batch of all)
    for (const message of batch.messages) length += message.value!.toString('utf8').length;
  const seconds = cpuSeconds() - started;
  if (length === 0) throw new Error('nothing read');
  return COUNT / seconds;
}

type Lib = {
  createApp: typeof createApp;
  mapValue: typeof mapValue;
  silentLogger: typeof silentLogger;
  string: typeof string;
  waitFor: typeof waitFor;
  KafkaTransport: typeof KafkaTransport;
};

async function lib(): Promise<Lib> {
  const dir = process.env.BENCH_BASELINE_LIB;
  if (!dir) return { createApp, mapValue, silentLogger, string, waitFor, KafkaTransport };
  const url = (file: string): string => pathToFileURL(`${dir}/${file}`).href;
  const [index, kafka, testing] = await Promise.all([
    import(url('index.ts')),
    import(url('kafka.ts')),
    import(url('testing/index.ts')),
  ]);
  return { ...index, ...kafka, ...testing } as Lib;
}

/** The agent on a KafkaTransport whose kafkajs client is a fake fed from memory. */
async function rivulet(): Promise<number> {
  const l = await lib();
  const all = batches();
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const listeners = new Map<string, ((event: unknown) => void)[]>();
  const join = (): void => {
    for (const listener of listeners.get('join') ?? [])
      listener({
        payload: {
          memberId: 'm',
          isLeader: true,
          duration: 0,
          memberAssignment: { [TOPIC]: Array.from({ length: PARTITIONS }, (_, p) => p) },
        },
      });
  };
  const consumer: Partial<Consumer> = {
    events: {
      GROUP_JOIN: 'join',
      REBALANCING: 'rebalancing',
      CRASH: 'crash',
      HEARTBEAT: 'heartbeat',
      COMMIT_OFFSETS: 'commit',
    } as unknown as Consumer['events'],
    on: ((name: string, listener: (event: unknown) => void) => {
      listeners.set(name, [...(listeners.get(name) ?? []), listener]);
      return () => undefined;
    }) as Consumer['on'],
    connect: async () => {},
    subscribe: async () => {},
    run: (async (config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
      eachBatch = config.eachBatch;
      setImmediate(join); // kafkajs joins the group once it runs
    }) as Consumer['run'],
    pause: () => {},
    resume: () => {},
    disconnect: async () => {},
  };
  const admin = new Proxy(
    {},
    {
      get: (_, name) =>
        name === 'then'
          ? undefined // not a thenable
          : name === 'listTopics'
            ? async () => [TOPIC, `${TOPIC}.dlq`, 'cpu.read.dlq']
            : name === 'fetchTopicMetadata'
              ? async () => ({
                  topics: [
                    {
                      name: TOPIC,
                      partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionId: p })),
                    },
                  ],
                })
              : async () => undefined,
    },
  );
  const transport = new l.KafkaTransport(
    { brokers: ['fake:9092'], logger: l.silentLogger },
    {
      client: () =>
        ({ consumer: () => consumer as Consumer, admin: () => admin, producer: () => admin }) as never,
    },
  );
  const logger = process.env.BENCH_DEBUG
    ? { debug: console.error, info: console.error, warn: console.error, error: console.error }
    : l.silentLogger;
  const app = l.createApp({ id: 'cpu', transport, logger });
  const topic = app.topic(TOPIC, { value: l.string() });
  let length = 0;
  // BENCH_PIPELINE=none: the messages go straight to the end (what the operator costs, by difference)
  const agent = app.agent('read', topic, (message$) =>
    process.env.BENCH_PIPELINE === 'none'
      ? message$.pipe(tap((message) => (length += message.value.length)))
      : message$.pipe(
          l.mapValue((value) => {
            length += value.length;
            return value;
          }),
        ),
  );
  await app.start();
  await new Promise((resolve) => setImmediate(resolve));
  const started = cpuSeconds();
  for (const batch of all) {
    const payload = {
      batch: { topic: TOPIC, partition: batch.partition, messages: batch.messages },
      heartbeat: async () => {},
      isRunning: () => true,
      isStale: () => false,
      resolveOffset: () => {},
      commitOffsetsIfNecessary: async () => {},
    } as unknown as EachBatchPayload;
    await eachBatch!(payload);
  }
  await l.waitFor(() => agent.stats().settled >= COUNT, { timeoutMs: 600_000, intervalMs: 1 });
  const seconds = cpuSeconds() - started;
  await app.stop();
  if (length === 0) throw new Error('nothing read');
  return COUNT / seconds;
}

const child = process.env.BENCH_CHILD;
if (child) {
  const rate = child === 'hand' ? hand() : await rivulet();
  process.stdout.write(`${JSON.stringify({ rate })}\n`);
} else {
  console.log(`machine: ${machine()}`);
  console.log(`${COUNT.toLocaleString('en-US')} records of ~200 bytes, batches of ${BATCH}`);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const READERS = process.env.BENCH_READERS?.split(',') ?? ['hand', 'rivulet'];
  const rates = new Map<string, number[]>(READERS.map((spec) => [spec, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const spec of READERS.map((_, i) => READERS[(i + round) % READERS.length]!)) {
      const [reader, ...settings] = spec.split('+') as [string, ...string[]];
      const env = Object.fromEntries(settings.map((setting) => setting.split('=') as [string, string]));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url)],
        { env: { ...process.env, ...env, BENCH_CHILD: reader === 'hand' ? 'hand' : 'rivulet' } },
      );
      const { rate } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rate: number };
      rates.get(spec)!.push(rate);
      console.log(`round ${round + 1}: ${spec}: ${Math.round(rate).toLocaleString('en-US')} msg/s`);
    }
  }
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  for (const spec of READERS) {
    const m = mean(rates.get(spec)!);
    console.log(
      `mean ${spec}: ${Math.round(m).toLocaleString('en-US')} msg/s (${(1e9 / m).toFixed(0)} ns/record)`,
    );
  }
  const [first, ...others] = READERS;
  for (const spec of others) {
    const rounds = rates.get(spec)!.map((rate, i) => rate / rates.get(first!)![i]!);
    console.log(
      `ratio ${spec} / ${first}: ${(mean(rates.get(spec)!) / mean(rates.get(first!)!)).toFixed(2)} (rounds ${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)})`,
    );
  }
}
