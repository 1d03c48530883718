import { expect } from 'chai';
import { MemoryBroker } from '../../../lib/transports/memory/memory-broker.js';
import { MemoryTransport } from '../../../lib/transports/memory/memory-transport.js';
import {
  PartitionReadAbortedError,
  PartitionReadRangeError,
} from '../../../lib/transports/partition-read-errors.js';
import type { ReadProgress, ReadStall, RecordBatch } from '../../../lib/transports/transport.js';
import { isPartitionReader } from '../../../lib/transports/transport.js';
import { waitFor } from '../../../lib/testing/index.js';

const TOPIC = 'table-changelog';

/** A topic with 3 partitions holding 0..count-1 (value = `<partition>:<offset>`). */
function setup(counts: readonly number[], batchSize = 10): MemoryTransport {
  const broker = new MemoryBroker();
  broker.createTopic(TOPIC, counts.length);
  counts.forEach((count, partition) =>
    broker.produce(
      Array.from({ length: count }, (_, offset) => ({
        topic: TOPIC,
        partition,
        key: Buffer.from(`k${offset % 7}`),
        value: Buffer.from(`${partition}:${offset}`),
      })),
    ),
  );
  return new MemoryTransport(broker, { batchSize });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('memory transport: readPartitions', () => {
  it('is a partition reader', () => {
    expect(isPartitionReader(new MemoryTransport())).to.equal(true);
  });

  it('reads a middle range of one partition, in order, in batches, and nothing of the others', async () => {
    const transport = setup([100, 100, 100], 10);
    const batches: RecordBatch[] = [];
    const result = await transport.readPartitions(TOPIC, [{ partition: 1, from: 25, to: 62 }], {
      onBatch: (batch) => void batches.push(batch),
    });
    const values = batches.flatMap((batch) => batch.records.map((record) => record.value!.toString()));
    expect(values).to.deep.equal(Array.from({ length: 37 }, (_, i) => `1:${25 + i}`));
    expect(batches.every((batch) => batch.partition === 1 && batch.topic === TOPIC)).to.equal(true);
    expect(batches.map((batch) => batch.records.length)).to.deep.equal([10, 10, 10, 7]);
    expect(result).to.include({ topic: TOPIC, read: 37 });
  });

  it('reads several partitions, each its own range, and reports progress down to nothing remaining', async () => {
    const transport = setup([30, 0, 50], 8);
    const seen = new Map<number, number[]>();
    const progress: ReadProgress[] = [];
    const result = await transport.readPartitions(
      TOPIC,
      [
        { partition: 0, from: 0, to: 30 },
        { partition: 1, from: 0, to: 0 },
        { partition: 2, from: 40, to: 50 },
      ],
      {
        onBatch: ({ partition, records }) => {
          seen.set(partition, [...(seen.get(partition) ?? []), ...records.map((record) => record.offset)]);
        },
        onProgress: (p) => progress.push(p),
      },
    );
    expect(seen.get(0)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    expect(seen.has(1), 'the empty partition is not read').to.equal(false);
    expect(seen.get(2)).to.deep.equal(Array.from({ length: 10 }, (_, i) => 40 + i));
    expect(result.read).to.equal(40);
    expect(progress[0]).to.deep.equal({
      topic: TOPIC,
      read: 0,
      toRead: 40,
      remaining: 40,
      partitionsDone: 1,
      partitions: 3,
    });
    expect(progress.at(-1)).to.deep.include({ read: 40, remaining: 0, partitionsDone: 3 });
    const reads = progress.map((p) => p.read);
    expect(reads).to.deep.equal([...reads].sort((a, b) => a - b));
  });

  it('returns at once for empty ranges and for no ranges, without calling onBatch', async () => {
    const transport = setup([5, 5, 5]);
    let batches = 0;
    const onBatch = () => void batches++;
    expect(await transport.readPartitions(TOPIC, [], { onBatch })).to.include({ read: 0 });
    const result = await transport.readPartitions(
      TOPIC,
      [
        { partition: 0, from: 5, to: 5 },
        { partition: 2, from: 0, to: 0 },
      ],
      { onBatch },
    );
    expect(result.read).to.equal(0);
    expect(batches).to.equal(0);
  });

  it('stops at `to`: records produced meanwhile are not read', async () => {
    const transport = setup([20], 5);
    const offsets: number[] = [];
    await transport.readPartitions(TOPIC, [{ partition: 0, from: 0, to: 20 }], {
      onBatch: async ({ records }) => {
        offsets.push(...records.map((record) => record.offset));
        await transport.produce([{ topic: TOPIC, partition: 0, value: Buffer.from('late') }]);
      },
    });
    expect(offsets).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });

  it('rejects ranges the topic cannot give, before reading anything', async () => {
    const transport = setup([10, 10]);
    let batches = 0;
    const onBatch = () => void batches++;
    for (const ranges of [
      [{ partition: 2, from: 0, to: 1 }],
      [{ partition: 0, from: 0, to: 11 }],
      [{ partition: 0, from: 5, to: 4 }],
      [{ partition: 0, from: -1, to: 4 }],
      [
        { partition: 1, from: 0, to: 1 },
        { partition: 1, from: 1, to: 2 },
      ],
    ]) {
      const error = await rejection(transport.readPartitions(TOPIC, ranges, { onBatch }));
      expect(error, JSON.stringify(ranges)).to.be.instanceOf(PartitionReadRangeError);
      expect(error).to.include({ topic: TOPIC, partition: ranges.at(-1)!.partition });
    }
    expect(batches).to.equal(0);
  });

  it('awaits each onBatch before the next one, and reports a stall while an onBatch hangs', async () => {
    const transport = setup([30, 30], 10);
    let running = 0;
    let maxRunning = 0;
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const stalls: ReadStall[] = [];
    let batches = 0;
    const reading = transport.readPartitions(
      TOPIC,
      [
        { partition: 0, from: 0, to: 30 },
        { partition: 1, from: 10, to: 30 },
      ],
      {
        stallTimeoutMs: 30,
        onStall: (stall) => stalls.push(stall),
        onBatch: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          if (++batches === 2) await stuck;
          running--;
        },
      },
    );
    await waitFor(() => stalls.length > 0, { timeoutMs: 5_000, description: 'a stall reported' });
    expect(stalls[0]).to.deep.include({ topic: TOPIC, waitingFor: 'onBatch' });
    expect(stalls[0]!.idleMs).to.be.at.least(30);
    expect(stalls[0]!.pending).to.deep.equal([
      { partition: 0, position: 10, to: 30 },
      { partition: 1, position: 10, to: 30 },
    ]);
    release();
    expect((await reading).read).to.equal(50);
    expect(maxRunning).to.equal(1);
  });

  it('fails with the error of an onBatch that throws, and reads nothing more', async () => {
    const transport = setup([50], 10);
    let batches = 0;
    const boom = new Error('store is full');
    const error = await rejection(
      transport.readPartitions(TOPIC, [{ partition: 0, from: 0, to: 50 }], {
        onBatch: () => {
          if (++batches === 2) throw boom;
        },
      }),
    );
    expect(error).to.equal(boom);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches).to.equal(2);
  });

  it('stops when aborted, with PartitionReadAbortedError, and reads nothing more', async () => {
    const transport = setup([50], 10);
    const abort = new AbortController();
    let batches = 0;
    const error = await rejection(
      transport.readPartitions(TOPIC, [{ partition: 0, from: 0, to: 50 }], {
        signal: abort.signal,
        onBatch: () => {
          if (++batches === 2) abort.abort(new Error('partition revoked'));
        },
      }),
    );
    expect(error).to.be.instanceOf(PartitionReadAbortedError);
    expect((error as Error).cause).to.have.property('message', 'partition revoked');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches).to.equal(2);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const transport = setup([5]);
    let batches = 0;
    const error = await rejection(
      transport.readPartitions(TOPIC, [{ partition: 0, from: 0, to: 5 }], {
        signal: AbortSignal.abort(),
        onBatch: () => void batches++,
      }),
    );
    expect(error).to.be.instanceOf(PartitionReadAbortedError);
    expect(batches).to.equal(0);
  });
});
