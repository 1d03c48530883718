/**
 * `npm run bench:kafka-memory`: memory of an agent behind a slow sink on a real Kafka
 * (scripts/services.sh, or RIVULET_KAFKA_BROKERS). Produces BENCH_COUNT (default 1,000,000) records of
 * about 200 bytes to a fresh topic, then runs, each in its own child process and for BENCH_SECONDS
 * (default 60), an agent whose sink takes 10 ms per batch: once with the default `maxInFlight` and once
 * with 100 (BENCH_MAX_IN_FLIGHT=default,100). Every second it samples RSS, heap used, external and
 * ArrayBuffer memory and the records settled, and prints a table per run and a summary.
 * BENCH_MAX_BYTES and BENCH_MAX_BYTES_PER_PARTITION set the consumer's fetch sizes (to compare).
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { createApp, silentLogger, sink, string } from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { machine } from './machine.js';

const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
/** BENCH_TOPIC reuses a topic of an earlier run (with BENCH_COUNT records). */
const TOPIC = process.env.BENCH_TOPIC ?? `bench-memory-${suffix}`;
const MiB = 2 ** 20;

interface Sample {
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

/** One configuration, in this (child) process: samples memory every second for SECONDS. */
async function measure(maxInFlight: number | undefined): Promise<Sample[]> {
  const app = createApp({
    id: `bench-memory-${suffix}-${maxInFlight ?? 'default'}`,
    transport: new KafkaTransport({
      brokers: BROKERS,
      clientId: 'bench-memory',
      logger: silentLogger,
      ...(process.env.BENCH_MAX_BYTES ? { maxBytes: Number(process.env.BENCH_MAX_BYTES) } : {}),
      ...(process.env.BENCH_MAX_BYTES_PER_PARTITION
        ? { maxBytesPerPartition: Number(process.env.BENCH_MAX_BYTES_PER_PARTITION) }
        : {}),
    }),
    logger: silentLogger,
  });
  const topic = app.topic(TOPIC, { value: string() });
  const slow = sink<string, string | null>(
    async () => {
      await sleep(10);
    },
    { name: 'slow' },
  );
  const agent = app.agent('slow-sink', topic, (message$) => message$.pipe(slow), {
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
  });
  await app.start();
  const samples: Sample[] = [];
  for (let second = 1; second <= SECONDS; second++) {
    await sleep(1000);
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const newSpace =
      getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
    samples.push({
      second,
      rss,
      heapUsed,
      heapTotal,
      external,
      arrayBuffers,
      newSpace,
      settled: agent.stats().settled,
    });
  }
  await app.stop();
  return samples;
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(0);

function report(label: string, samples: readonly Sample[]): string {
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
  const after10 = samples.filter((s) => s.second >= 10);
  const at10 = after10[0];
  const last = samples.at(-1);
  const peak = (pick: (s: Sample) => number, from: readonly Sample[] = samples): number =>
    Math.max(...from.map(pick));
  if (at10 && last) {
    lines.push(
      `summary ${label}: RSS peak ${mib(peak((s) => s.rss))} MiB, at 10 s ${mib(at10.rss)} MiB, ` +
        `at ${last.second} s ${mib(last.rss)} MiB, highest after 10 s minus at 10 s ` +
        `${mib(peak((s) => s.rss, after10) - at10.rss)} MiB; heap peak ${mib(peak((s) => s.heapUsed))} MiB; ` +
        `external peak ${mib(peak((s) => s.external))} MiB; settled ${last.settled.toLocaleString('en-US')}`,
    );
  }
  return lines.join('\n');
}

const child = process.env.BENCH_CHILD;
if (child !== undefined) {
  const samples = await measure(child === 'default' ? undefined : Number(child));
  process.stdout.write(`${JSON.stringify(samples)}\n`);
  process.exit(0);
} else {
  console.log(`machine: ${machine()}`);
  console.log(
    `topic ${TOPIC}: ${COUNT.toLocaleString('en-US')} records of ~200 bytes in ${PARTITIONS} partitions`,
  );
  if (!process.env.BENCH_TOPIC) console.log(`produced at ${Math.round(await produce())} msg/s`);
  const configurations = (process.env.BENCH_MAX_IN_FLIGHT ?? 'default,100').split(',');
  for (const configuration of configurations) {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_CHILD: configuration, BENCH_TOPIC: TOPIC },
      maxBuffer: 16 << 20,
    });
    const samples = JSON.parse(stdout.trim().split('\n').at(-1)!) as Sample[];
    console.log(report(`maxInFlight ${configuration}, sink 10 ms per batch, ${SECONDS} s`, samples));
  }
}
