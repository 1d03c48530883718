/**
 * One reading of `npm run bench:kafka-memory`, in a process of its own and run by plain `node` on the
 * compiled JavaScript (no tsx: its transform cache is not what a user runs). `BENCH_READER` is `kafkajs`
 * (a plain kafkajs consumer doing the same work by hand) or `rivulet`, with the library compiled to
 * `BENCH_LIB` (this checkout's or another one's). Reads `BENCH_TOPIC` from the beginning for
 * BENCH_SECONDS behind a sink that takes 10 ms per batch of up to 500 records, samples memory every
 * second and prints the samples as one JSON line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { Kafka, logLevel } from 'kafkajs';
import type * as Index from '../lib/index.js';
import type * as KafkaLib from '../lib/kafka.js';

/** One second's reading. */
export interface Sample {
  readonly second: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Size of V8's young generation (its two semi-spaces), part of heap total. */
  readonly newSpace: number;
  readonly settled: number;
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const TOPIC = process.env.BENCH_TOPIC ?? '';
const GROUP = process.env.BENCH_GROUP ?? `bench-memory-${Date.now().toString(36)}`;
const BATCH = 500;
const SINK_MS = 10;
/** Fetch sizes (BENCH_MAX_BYTES, BENCH_MAX_BYTES_PER_PARTITION), for both readers. */
const FETCH = {
  ...(process.env.BENCH_MAX_BYTES ? { maxBytes: Number(process.env.BENCH_MAX_BYTES) } : {}),
  ...(process.env.BENCH_MAX_BYTES_PER_PARTITION
    ? { maxBytesPerPartition: Number(process.env.BENCH_MAX_BYTES_PER_PARTITION) }
    : {}),
};

/** Samples memory every second for SECONDS; `settled()` counts the records done so far. */
async function sample(settled: () => number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let second = 1; second <= SECONDS; second++) {
    await sleep(1000);
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const newSpace =
      getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
    samples.push({ second, rss, heapUsed, heapTotal, external, arrayBuffers, newSpace, settled: settled() });
  }
  return samples;
}

/**
 * Plain kafkajs doing what the agent does: decode each value to a string, hand the strings to the
 * sink 500 at a time (10 ms each), resolve the offsets, commit every 100 ms (kafkajs's autoCommit).
 */
async function plainKafkajs(): Promise<Sample[]> {
  const kafka = new Kafka({ brokers: BROKERS, clientId: 'bench-memory-raw', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: GROUP,
    ...(FETCH.maxBytes !== undefined ? { maxBytes: FETCH.maxBytes } : {}),
    ...(FETCH.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: FETCH.maxBytesPerPartition } : {}),
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  let settled = 0;
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 100,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const { messages } = batch;
      for (let start = 0; start < messages.length; start += BATCH) {
        if (!isRunning() || isStale()) return;
        const chunk = messages.slice(start, start + BATCH);
        const values = chunk.map((message) => message.value?.toString('utf8') ?? null);
        await sleep(SINK_MS);
        if (values.length > 0) settled += chunk.length;
        resolveOffset(chunk[chunk.length - 1]!.offset);
        await heartbeat();
      }
    },
  });
  const samples = await sample(() => settled);
  await consumer.disconnect();
  return samples;
}

/** A rivulet agent on the library compiled to BENCH_LIB: `topic → sink(10 ms per batch)`. */
async function rivulet(): Promise<Sample[]> {
  const dir = process.env.BENCH_LIB;
  if (!dir) throw new Error('the rivulet reader needs BENCH_LIB (a compiled lib folder)');
  const index = (await import(pathToFileURL(`${dir}/index.js`).href)) as typeof Index;
  const { KafkaTransport } = (await import(pathToFileURL(`${dir}/kafka.js`).href)) as typeof KafkaLib;
  const { createApp, silentLogger, sink, string } = index;
  const app = createApp({
    id: GROUP,
    transport: new KafkaTransport({
      brokers: BROKERS,
      clientId: 'bench-memory',
      logger: silentLogger,
      ...FETCH,
    }),
    logger: silentLogger,
  });
  const topic = app.topic(TOPIC, { value: string() });
  const slow = sink<string, string | null>(
    async () => {
      await sleep(SINK_MS);
    },
    { name: 'slow', maxBatchSize: BATCH },
  );
  const maxInFlight = process.env.BENCH_MAX_IN_FLIGHT ? Number(process.env.BENCH_MAX_IN_FLIGHT) : undefined;
  const agent = app.agent('slow-sink', topic, (message$) => message$.pipe(slow), {
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
  });
  await app.start();
  const samples = await sample(() => agent.stats().settled);
  await app.stop();
  return samples;
}

const samples = process.env.BENCH_READER === 'kafkajs' ? await plainKafkajs() : await rivulet();
process.stdout.write(`${JSON.stringify(samples)}\n`);
process.exit(0);
