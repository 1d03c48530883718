import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { createApp, json, silentLogger, updateTable } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: standby replicas of a table', function () {
  this.timeout(120_000);

  it('a worker tails the partitions it does not own; when it takes them over it reads only the last record of each, and counts stay exact', async () => {
    const appId = uniqueName('standby');
    const topicName = `${appId}-records`;
    const changelog = `${appId}-counts-changelog`;
    const kafka = new Kafka({ brokers: services.kafkaBrokers, clientId: appId, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topicName, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    const expected = new Map<string, number>();
    const send = async (from: number, to: number): Promise<void> => {
      const messages = Array.from({ length: to - from }, (_, i) => {
        const key = `k${(from + i) % 53}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        return { key, value: JSON.stringify({ id: from + i }) };
      });
      await producer.send({ topic: topicName, messages });
    };

    const worker = () => {
      const transport = new KafkaTransport({
        brokers: services.kafkaBrokers,
        clientId: appId,
        logger: silentLogger,
        sessionTimeout: 6000,
        heartbeatInterval: 1000,
      });
      const app = createApp({ id: appId, transport, logger: silentLogger });
      const topic = app.topic<{ id: number }>(topicName, { value: json() });
      const counts = app.table<number>('counts', {
        value: json(),
        default: () => 0,
        standbys: 1,
        standbyPollMs: 200,
      });
      app.agent('count', topic, (record$) => record$.pipe(updateTable(counts, (n) => n + 1)), {
        commitIntervalMs: 20,
      });
      return { app, counts };
    };
    const a = worker();
    const b = worker();
    try {
      await a.app.start();
      await b.app.start();
      await waitFor(() => a.counts.ownedPartitions().length + b.counts.ownedPartitions().length === 3, {
        timeoutMs: 60_000,
        description: 'both workers own partitions',
      });
      await send(0, 1500);
      await waitForCommitted(a.app, { timeoutMs: 60_000 });
      const moved = b.counts.ownedPartitions();
      expect(moved).to.not.deep.equal([]);
      const ends = new Map(
        (await admin.fetchTopicOffsets(changelog)).map((p) => [p.partition, Number(p.high)]),
      );
      await waitFor(
        () =>
          moved.every(
            (partition) =>
              a.counts.stats().standbys?.find((s) => s.partition === partition)?.position ===
              ends.get(partition),
          ),
        { timeoutMs: 30_000, description: "A's standbys at the changelog's end" },
      );

      await b.app.stop(); // a rolling restart: A takes B's partitions over
      await waitFor(() => a.counts.ownedPartitions().length === 3 && a.counts.stats().state === 'ready', {
        timeoutMs: 60_000,
        description: 'A owns every partition',
      });
      for (const partition of moved) {
        const restored = a.counts.stats().partitions.find((p) => p.partition === partition)!;
        expect(restored.read, `partition ${partition}`).to.equal(0); // only the last record, re-read for its headers
        expect(restored.keys).to.be.greaterThan(0);
      }
      await send(1500, 2000);
      await waitForCommitted(a.app, { timeoutMs: 60_000 });
      const actual = new Map([...expected.keys()].map((key) => [key, a.counts.get(key)]));
      expect(Object.fromEntries(actual)).to.deep.equal(Object.fromEntries(expected));
    } finally {
      await Promise.all([a.app.stop(), b.app.stop()]);
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});
