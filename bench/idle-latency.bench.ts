/**
 * `npm run bench:idle-latency`: latency from produce to settle after the consumer sat idle, rivulet
 * against raw kafkajs, on a real Kafka (scripts/services.sh, or RIVULET_KAFKA_BROKERS). Each reader has
 * its own fresh topic and group; once it is assigned and has read one warm-up record, it idles for
 * BENCH_IDLE_MS (default 20 s), then BENCH_BURST records (default 200) are produced one by one,
 * BENCH_GAP_MS (default 10 ms) apart. A record's latency runs from just before its produce to the moment
 * the reader is done with it: rivulet's agent settles it (`mapValue` at the end of the pipeline, the
 * moment it reaches the end), raw kafkajs's `eachBatch` has resolved its offset (the commit follows as
 * kafkajs's autoCommit, as the bench:kafka raw reader does). Readers alternate A B A B over
 * BENCH_ROUNDS rounds (default 2); the p50, p99 and max of each reading are printed, then the ratio
 * of the p99s per round.
 */
import { Kafka, logLevel } from 'kafkajs';
import { createApp, mapValue, silentLogger, string } from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { waitFor } from '../lib/testing/index.js';
import { machine } from './machine.js';

const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 20_000);
const BURST = Number(process.env.BENCH_BURST ?? 200);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

interface Reader {
  /** Subscribes; resolves once the reader has read the warm-up record (so it is assigned and fetching). */
  start(topic: string, seen: (id: number) => void): Promise<void>;
  stop(): Promise<void>;
}

function rivuletReader(round: number): Reader {
  const app = createApp({
    id: `bench-idle-${suffix}-${round}`,
    transport: new KafkaTransport({ brokers: BROKERS, clientId: 'bench-idle', logger: silentLogger }),
    logger: silentLogger,
  });
  return {
    async start(name, seen) {
      const topic = app.topic(name, { value: string() });
      app.agent('read', topic, (message$) =>
        message$.pipe(
          mapValue((value) => {
            seen(Number(value));
            return value;
          }),
        ),
      );
      await app.start();
    },
    stop: () => app.stop(),
  };
}

function rawReader(round: number): Reader {
  const kafka = new Kafka({ brokers: BROKERS, clientId: 'bench-idle-raw', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-idle-raw-${suffix}-${round}`, maxWaitTimeInMs: 500 });
  return {
    async start(topic, seen) {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          for (const message of batch.messages) {
            seen(Number(message.value?.toString('utf8')));
            resolveOffset(message.offset);
          }
        },
      });
    },
    stop: () => consumer.disconnect(),
  };
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function measure(name: string, reader: Reader): Promise<{ p50: number; p99: number; max: number }> {
  const topic = `bench-idle-${name}-${suffix}`;
  const producer = new KafkaTransport({
    brokers: BROKERS,
    clientId: 'bench-idle-producer',
    logger: silentLogger,
  });
  await producer.ensureTopics([{ name: topic, partitions: 1 }]);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  await reader.start(topic, (id) => {
    const at = sentAt.get(id);
    if (at !== undefined) latencies.push(performance.now() - at);
  });
  // warm-up: one record read end to end, so the reader is assigned and its fetch loop runs
  sentAt.set(0, performance.now());
  await producer.produce([{ topic, key: null, value: Buffer.from('0') }]);
  await waitFor(() => latencies.length === 1, {
    timeoutMs: 60_000,
    description: `${name}: the warm-up record`,
  });
  latencies.length = 0;
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  for (let id = 1; id <= BURST; id++) {
    sentAt.set(id, performance.now());
    await producer.produce([{ topic, key: null, value: Buffer.from(String(id)) }]);
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  }
  await waitFor(() => latencies.length >= BURST, { timeoutMs: 60_000, description: `${name}: the burst` });
  await reader.stop();
  await producer.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

console.log(`machine: ${machine()}`);
console.log(`${IDLE_MS / 1000} s idle, then ${BURST} records ${GAP_MS} ms apart, one partition`);
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
for (let round = 0; round < ROUNDS; round++) {
  const rivulet = await measure(`rivulet-${round}`, rivuletReader(round));
  console.log(
    `round ${round + 1}: rivulet p50 ${fmt(rivulet.p50)}, p99 ${fmt(rivulet.p99)}, max ${fmt(rivulet.max)}`,
  );
  const raw = await measure(`raw-${round}`, rawReader(round));
  console.log(
    `round ${round + 1}: raw kafkajs p50 ${fmt(raw.p50)}, p99 ${fmt(raw.p99)}, max ${fmt(raw.max)}`,
  );
  console.log(`round ${round + 1}: p99 rivulet / raw ${(rivulet.p99 / raw.p99).toFixed(2)}`);
}
