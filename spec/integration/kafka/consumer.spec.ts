import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { RebalanceInProgressError, silentLogger, type RecordBatch } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

const records = (topic: string, partition: number, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    topic,
    partition,
    value: Buffer.from(String(from + i)),
    headers: { n: String(from + i) },
  }));

describe('kafka: transport consumer', function () {
  this.timeout(60_000);
  const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
  after(() => transport.close());

  it('hands the records an onBatch did not take over again, from the first one not taken', async () => {
    const topic = uniqueName('partial');
    await transport.ensureTopics([{ name: topic, partitions: 1 }]);
    await transport.produce(records(topic, 0, 0, 50));
    const delivered: number[][] = [];
    const consumer = await transport.consume(
      { groupId: uniqueName('partial-group'), topics: [topic] },
      {
        // Take at most 7 records of every batch.
        onBatch: (batch: RecordBatch) => {
          delivered.push(batch.records.map((record) => Number(record.headers.n)));
          return Math.min(7, batch.records.length);
        },
      },
    );
    try {
      await waitFor(() => delivered.flat().length > 0 && taken(delivered).length >= 50, {
        timeoutMs: 20_000,
        description: 'all 50 taken',
      });
    } finally {
      await consumer.stop();
    }
    expect(taken(delivered)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(delivered.length, 'several partial batches').to.be.greaterThan(5);
    for (const batch of delivered) expect(batch[0]! % 7).to.equal(0); // each batch starts where the last take ended

    function taken(batches: number[][]): number[] {
      return batches.flatMap((batch) => batch.slice(0, 7));
    }
  });

  it('pause stops delivery of a partition until resume; the other partitions go on', async () => {
    const topic = uniqueName('pause');
    await transport.ensureTopics([{ name: topic, partitions: 2 }]);
    const seen: [number, number][] = [];
    const consumer = await transport.consume(
      { groupId: uniqueName('pause-group'), topics: [topic] },
      {
        onBatch: (batch) => {
          for (const record of batch.records) seen.push([batch.partition, Number(record.headers.n)]);
        },
      },
    );
    try {
      await transport.produce([...records(topic, 0, 0, 10), ...records(topic, 1, 0, 10)]);
      await waitFor(() => seen.length === 20, { timeoutMs: 20_000, description: 'first 20' });
      consumer.pause([{ topic, partition: 0 }]);
      await transport.produce([...records(topic, 0, 10, 10), ...records(topic, 1, 10, 10)]);
      await waitFor(() => seen.filter(([p]) => p === 1).length === 20, {
        timeoutMs: 20_000,
        description: 'p1',
      });
      await sleep(1500); // several fetch cycles (maxWaitTime 500 ms)
      expect(seen.filter(([p]) => p === 0).length, 'records of the paused partition delivered').to.equal(10);
      consumer.resume([{ topic, partition: 0 }]);
      await waitFor(() => seen.length === 40, { timeoutMs: 20_000, description: 'all 40 after resume' });
      expect(seen.filter(([p]) => p === 0).map(([, n]) => n)).to.deep.equal(
        Array.from({ length: 20 }, (_, i) => i),
      );
    } finally {
      await consumer.stop();
    }
  });

  it('a commit for a partition the consumer does not own is refused with RebalanceInProgressError', async () => {
    const topic = uniqueName('not-owned');
    await transport.ensureTopics([{ name: topic, partitions: 1 }]);
    const consumer = await transport.consume(
      { groupId: uniqueName('owned-group'), topics: [topic] },
      { onBatch: () => {} },
    );
    try {
      let caught: unknown;
      await consumer
        .commit([{ topic: `${topic}-other`, partition: 0, offset: 1 }])
        .catch((error: unknown) => (caught = error));
      expect(caught).to.be.instanceOf(RebalanceInProgressError);
    } finally {
      await consumer.stop();
    }
    let afterStop: unknown;
    await consumer
      .commit([{ topic, partition: 0, offset: 0 }])
      .catch((error: unknown) => (afterStop = error));
    expect(afterStop).to.be.instanceOf(RebalanceInProgressError);
  });
});
