import { type Kafka, type KafkaMessage } from 'kafkajs';
import { waitFor } from '../../../lib/testing/index.js';
import { uniqueName } from './services.js';

/**
 * Every record of a topic, from the beginning to the end offsets of now (read by a fresh group).
 *
 * @example
 * ```ts
 * const records = await readTopic(new Kafka({ brokers: services.kafkaBrokers }), 'out');
 * ```
 */
export async function readTopic(kafka: Kafka, topic: string): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const left = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const records: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('read') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (Number(message.offset) < left.get(partition)!) records.push(message);
    },
  });
  await waitFor(() => records.length === [...left.values()].reduce((a, b) => a + b, 0), {
    timeoutMs: 60_000,
    description: `every record of ${topic}`,
  });
  await consumer.disconnect();
  return records;
}
