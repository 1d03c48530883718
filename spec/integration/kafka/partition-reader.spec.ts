import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import {
  PartitionReadAbortedError,
  PartitionReadRangeError,
} from '../../../lib/transports/partition-read-errors.js';
import type {
  PartitionRange,
  ProducerRecord,
  ReadProgress,
  ReadStall,
  RecordBatch,
} from '../../../lib/transports/transport.js';
import { services, uniqueName } from '../support/services.js';

const records = (topic: string, partition: number, count: number, key = (i: number) => `k${i}`) =>
  Array.from({ length: count }, (_, i): ProducerRecord => ({
    topic,
    partition,
    key: Buffer.from(key(i)),
    value: Buffer.from(`${partition}:${i}`),
  }));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('kafka: readPartitions (changelog reader)', function () {
  this.timeout(120_000);
  const clientId = uniqueName('reader');
  const transport = new KafkaTransport({ brokers: services.kafkaBrokers, clientId, logger: silentLogger });
  const kafka = new Kafka({ brokers: services.kafkaBrokers, clientId, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  before(() => admin.connect());
  after(async () => {
    await admin.disconnect();
    await transport.close();
  });

  /** Reads and returns the records handed over, per partition, and the progress reports. */
  async function readAll(topic: string, ranges: readonly PartitionRange[]) {
    const seen = new Map<number, { offset: number; key: string; value: string }[]>();
    const progress: ReadProgress[] = [];
    const result = await transport.readPartitions(topic, ranges, {
      onBatch: (batch: RecordBatch) => {
        const list = seen.get(batch.partition) ?? [];
        for (const record of batch.records)
          list.push({ offset: record.offset, key: String(record.key), value: String(record.value) });
        seen.set(batch.partition, list);
      },
      onProgress: (p) => progress.push(p),
    });
    return { seen, progress, result };
  }

  it('reads a middle range of one partition, and nothing of the others; commits nothing, leaves no group', async () => {
    const topic = uniqueName('reader-middle');
    await transport.ensureTopics([{ name: topic, partitions: 3 }]);
    await transport.produce([
      ...records(topic, 0, 100),
      ...records(topic, 1, 100),
      ...records(topic, 2, 100),
    ]);
    const { seen, progress, result } = await readAll(topic, [{ partition: 1, from: 30, to: 70 }]);
    expect([...seen.keys()]).to.deep.equal([1]);
    expect(seen.get(1)!.map((r) => r.offset)).to.deep.equal(Array.from({ length: 40 }, (_, i) => 30 + i));
    expect(seen.get(1)!.map((r) => r.value)).to.deep.equal(
      Array.from({ length: 40 }, (_, i) => `1:${30 + i}`),
    );
    expect(result).to.include({ topic, read: 40 });
    expect(progress[0]).to.include({ read: 0, toRead: 40, remaining: 40 });
    expect(progress.at(-1)).to.include({ read: 40, remaining: 0, partitionsDone: 1 });
    const { groups } = await admin.listGroups();
    expect(groups.map((g) => g.groupId).filter((id) => id.startsWith(`${clientId}.restore.`))).to.deep.equal(
      [],
    );
  });

  it('reads several partitions to their ends; an empty partition and empty ranges are done at once', async () => {
    const topic = uniqueName('reader-empty');
    await transport.ensureTopics([{ name: topic, partitions: 3 }]);
    await transport.produce([...records(topic, 0, 50), ...records(topic, 2, 20)]);
    const [p0, p1, p2] = await transport.endOffsets(topic);
    expect(p1!.offset).to.equal(0);
    const { seen, result } = await readAll(topic, [
      { partition: 0, from: 0, to: p0!.offset },
      { partition: 1, from: 0, to: 0 },
      { partition: 2, from: 5, to: p2!.offset },
    ]);
    expect(seen.get(0)!.length).to.equal(50);
    expect(seen.has(1)).to.equal(false);
    expect(seen.get(2)!.map((r) => r.offset)).to.deep.equal(Array.from({ length: 15 }, (_, i) => 5 + i));
    expect(result.read).to.equal(65);

    const started = Date.now();
    const nothing = await readAll(topic, [
      { partition: 1, from: 0, to: 0 },
      { partition: 0, from: 50, to: 50 },
    ]);
    expect(nothing.result.read).to.equal(0);
    expect(Date.now() - started, 'no consumer group joined for nothing').to.be.below(1000);
  });

  it('stops at `to` even when the offsets before it hold no visible record (aborted transaction, markers)', async () => {
    const topic = uniqueName('reader-txn');
    await transport.ensureTopics([{ name: topic, partitions: 1 }]);
    await transport.produce(records(topic, 0, 10));
    const producer = kafka.producer({
      transactionalId: uniqueName('txn'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const transaction = await producer.transaction();
      await transaction.send({
        topic,
        messages: [1, 2, 3].map((i) => ({ partition: 0, value: `aborted-${i}` })),
      });
      await transaction.abort();
    } finally {
      await producer.disconnect();
    }
    // The broker writes the abort markers after the abort returns; until then the end offset a
    // read_committed client sees stops before the open transaction (10).
    let end = 0;
    await waitFor(async () => (end = (await transport.endOffsets(topic))[0]!.offset) === 14, {
      timeoutMs: 20_000,
      description: 'end offset past 10 records, 3 aborted ones and the abort marker',
    });
    const { seen, progress } = await readAll(topic, [{ partition: 0, from: 0, to: end }]);
    expect(seen.get(0)!.map((r) => r.value)).to.deep.equal(Array.from({ length: 10 }, (_, i) => `0:${i}`));
    expect(progress.at(-1)).to.include({ read: 10, toRead: 14, remaining: 0 });
  });

  it('reads a compacted topic: the latest value per key, across the gaps, to a `to` that falls in a gap', async () => {
    const topic = uniqueName('reader-compact');
    await transport.ensureTopics([
      {
        name: topic,
        partitions: 1,
        config: {
          'cleanup.policy': 'compact',
          'segment.bytes': '1024',
          'min.cleanable.dirty.ratio': '0.01',
          'min.compaction.lag.ms': '0',
        },
      },
    ]);
    // 10 keys written 40 times each: compaction keeps the last write of each (and the active segment).
    const rounds = 40;
    for (let round = 0; round < rounds; round++) {
      await transport.produce(
        Array.from({ length: 10 }, (_, k) => ({
          topic,
          partition: 0,
          key: Buffer.from(`key-${k}`),
          value: Buffer.from(`${round}`),
        })),
      );
    }
    const [end] = await transport.endOffsets(topic);
    expect(end!.offset).to.equal(rounds * 10);
    let visible: { offset: number; key: string; value: string }[] = [];
    // The log cleaner runs on its own schedule (every 15 s by default): wait until it has compacted.
    await waitFor(
      async () => {
        visible = (await readAll(topic, [{ partition: 0, from: 0, to: end!.offset }])).seen.get(0) ?? [];
        return visible.length < (rounds * 10) / 2;
      },
      { timeoutMs: 100_000, intervalMs: 2000, description: 'the log cleaner compacted the topic' },
    );
    const latest = new Map(visible.map((r) => [r.key, r.value]));
    expect(latest.size).to.equal(10);
    for (const value of latest.values()) expect(value).to.equal(String(rounds - 1));

    // A `to` right after a compacted-away offset: the read must still end.
    const offsets = new Set(visible.map((r) => r.offset));
    const gap = [...Array(end!.offset).keys()].find((offset) => offset > 0 && !offsets.has(offset))!;
    expect(gap, 'a compacted-away offset').to.not.equal(undefined);
    const partial = await readAll(topic, [{ partition: 0, from: 0, to: gap + 1 }]);
    expect((partial.seen.get(0) ?? []).map((r) => r.offset)).to.deep.equal(
      visible.filter((r) => r.offset <= gap).map((r) => r.offset),
    );
    expect(partial.progress.at(-1)).to.include({ remaining: 0 });
  });

  it('refuses a partition the topic lacks and a `to` past the end offset', async () => {
    const topic = uniqueName('reader-range');
    await transport.ensureTopics([{ name: topic, partitions: 2 }]);
    await transport.produce(records(topic, 0, 5));
    const onBatch = () => {};
    const missing = await rejection(
      transport.readPartitions(topic, [{ partition: 2, from: 0, to: 1 }], { onBatch }),
    );
    expect(missing).to.be.instanceOf(PartitionReadRangeError).and.include({ partition: 2 });
    const past = await rejection(
      transport.readPartitions(topic, [{ partition: 0, from: 0, to: 6 }], { onBatch }),
    );
    expect(past).to.be.instanceOf(PartitionReadRangeError).and.include({ partition: 0 });
  });

  it('reports a stall while onBatch hangs, and an abort ends the read at once', async () => {
    const topic = uniqueName('reader-stall');
    await transport.ensureTopics([{ name: topic, partitions: 1 }]);
    await transport.produce(records(topic, 0, 20));
    const stalls: ReadStall[] = [];
    const abort = new AbortController();
    let release!: () => void;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    let batches = 0;
    const reading = transport.readPartitions(topic, [{ partition: 0, from: 0, to: 20 }], {
      stallTimeoutMs: 300,
      onStall: (stall) => stalls.push(stall),
      signal: abort.signal,
      onBatch: async () => {
        batches++;
        await hanging;
      },
    });
    try {
      await waitFor(() => stalls.length > 0, { timeoutMs: 30_000, description: 'a stall report' });
      expect(stalls[0]).to.deep.include({ topic, waitingFor: 'onBatch' });
      expect(stalls[0]!.pending).to.deep.equal([{ partition: 0, position: 0, to: 20 }]);
      abort.abort();
      expect(await rejection(reading)).to.be.instanceOf(PartitionReadAbortedError);
    } finally {
      release();
    }
    expect(batches).to.equal(1);
  });
});
