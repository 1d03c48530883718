/**
 * `npm run bench:tables`: how fast a table's state comes back from its changelog. Writes BENCH_COUNT
 * (default 1,000,000) keyed records, one per key (a table of that many keys, about 60-byte values), to
 * a changelog topic with BENCH_PARTITIONS (default 6) partitions, on memory:// and on a real Kafka
 * (compacted topic; scripts/services.sh, or RIVULET_KAFKA_BROKERS; BENCH_KAFKA=0 skips it). Then, for
 * each transport:
 *
 * - replay: every partition from offset 0 into a MemoryTableStore (what a worker without a persistent
 *   store does at each start), in records/s;
 * - the same into an LmdbTableStore (the first start of a persistent worker);
 * - restart: BENCH_TAIL (default 10,000) more records are written, the LMDB store is closed and opened
 *   again, and only the tail after its checkpoints is replayed: the time from open to restored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { LmdbTableStore } from '../lib/lmdb.js';
import { MemoryTableStore } from '../lib/tables/stores/memory-table-store.js';
import type { TableStore } from '../lib/tables/stores/table-store.js';
import { MemoryBroker } from '../lib/transports/memory/memory-broker.js';
import { MemoryTransport } from '../lib/transports/memory/memory-transport.js';
import type { PartitionRange, PartitionReader, Transport } from '../lib/transports/transport.js';
import { machine } from './machine.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const TAIL = Number(process.env.BENCH_TAIL ?? 10_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

type Reader = Transport & PartitionReader;

const fmt = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} records/s`;
const ms = (value: number): string => `${Math.round(value).toLocaleString('en-US')} ms`;

/** Produces `count` records with keys `key-<n>` from `first` on, spread over the partitions. */
async function produce(transport: Transport, topic: string, first: number, count: number): Promise<number> {
  const started = performance.now();
  const chunk = 10_000;
  const inFlight: Promise<unknown>[] = [];
  for (let start = first; start < first + count; start += chunk) {
    const records = Array.from({ length: Math.min(chunk, first + count - start) }, (_, i) => {
      const n = start + i;
      return {
        topic,
        partition: n % PARTITIONS,
        key: Buffer.from(`key-${String(n).padStart(9, '0')}`),
        value: Buffer.from(`{"count":${n},"symbol":"SYM${n % 5000}","updated":${1_790_000_000_000 + n}}`),
      };
    });
    inFlight.push(transport.produce(records));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return count / ((performance.now() - started) / 1000);
}

/** Replays `[from, end)` of every partition into the store; returns records read and seconds taken. */
async function replay(
  transport: Reader,
  topic: string,
  store: TableStore,
): Promise<{ read: number; seconds: number }> {
  const ends = await transport.endOffsets(topic);
  const ranges: PartitionRange[] = ends.map(({ partition, offset }) => ({
    partition,
    from: store.checkpoint(partition) ?? 0,
    to: offset,
  }));
  const started = performance.now();
  const { read } = await transport.readPartitions(topic, ranges, {
    onBatch: ({ partition, records }) =>
      store.apply(
        partition,
        records.map((record) => ({ key: record.key!, value: record.value })),
        records[records.length - 1]!.offset + 1,
      ),
  });
  // Partitions with nothing to read still get their checkpoint.
  for (const { partition, to } of ranges)
    if ((store.checkpoint(partition) ?? -1) < to) await store.apply(partition, [], to);
  return { read, seconds: (performance.now() - started) / 1000 };
}

/** Heap in use after a full GC (when run with --expose-gc, as the npm script does). */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function totalSize(store: TableStore): number {
  let size = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) size += store.size(partition);
  return size;
}

async function bench(name: string, transport: Reader, topic: string): Promise<void> {
  console.log(`\n${name}: producing ${COUNT.toLocaleString('en-US')} keyed records…`);
  console.log(`produce: ${fmt(await produce(transport, topic, 0, COUNT))}`);

  const memory = new MemoryTableStore();
  const heapBefore = heapUsed();
  const full = await replay(transport, topic, memory);
  const heapAfter = heapUsed();
  if (totalSize(memory) !== COUNT) throw new Error(`memory store holds ${totalSize(memory)} keys`);
  console.log(
    `replay into memory store: ${full.read.toLocaleString('en-US')} records in ${ms(full.seconds * 1000)}: ${fmt(full.read / full.seconds)} (heap +${Math.round((heapAfter - heapBefore) / 2 ** 20)} MiB)`,
  );
  await memory.close();

  const path = mkdtempSync(join(tmpdir(), 'rivulet-bench-lmdb-'));
  try {
    let lmdb = LmdbTableStore.open({ path, maxPartitions: PARTITIONS });
    const first = await replay(transport, topic, lmdb);
    if (totalSize(lmdb) !== COUNT) throw new Error(`lmdb store holds ${totalSize(lmdb)} keys`);
    console.log(
      `replay into lmdb store (first start): ${first.read.toLocaleString('en-US')} records in ${ms(first.seconds * 1000)}: ${fmt(first.read / first.seconds)}`,
    );
    await lmdb.close();

    await produce(transport, topic, COUNT, TAIL);
    const started = performance.now();
    lmdb = LmdbTableStore.open({ path, maxPartitions: PARTITIONS });
    const opened = performance.now();
    const tail = await replay(transport, topic, lmdb);
    const restored = performance.now();
    if (totalSize(lmdb) !== COUNT + TAIL)
      throw new Error(`lmdb store holds ${totalSize(lmdb)} keys after restart`);
    console.log(
      `restart of lmdb store (${COUNT.toLocaleString('en-US')} checkpointed + ${TAIL.toLocaleString('en-US')} new): ${ms(restored - started)} (open ${ms(opened - started)}, tail of ${tail.read.toLocaleString('en-US')} records ${ms(restored - opened)})`,
    );
    await lmdb.close();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  console.log(
    `records: ${COUNT.toLocaleString('en-US')} keys, ${PARTITIONS} partitions, tail ${TAIL.toLocaleString('en-US')}`,
  );

  const memoryTransport = new MemoryTransport(new MemoryBroker());
  const memoryTopic = `bench-tables-${suffix}`;
  await memoryTransport.ensureTopics([{ name: memoryTopic, partitions: PARTITIONS }]);
  await bench('memory://', memoryTransport, memoryTopic);
  await memoryTransport.close();

  if (process.env.BENCH_KAFKA === '0') return;
  const kafka = new KafkaTransport({ brokers: BROKERS, clientId: 'bench-tables', logger: silentLogger });
  const kafkaTopic = `bench-tables-${suffix}-changelog`;
  try {
    await kafka.ensureTopics([
      { name: kafkaTopic, partitions: PARTITIONS, config: { 'cleanup.policy': 'compact' } },
    ]);
    await bench(`kafka (${BROKERS.join(',')}, compacted topic)`, kafka, kafkaTopic);
  } finally {
    await kafka.close();
  }
}

await main();
