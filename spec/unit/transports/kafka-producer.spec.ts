import { expect } from 'chai';
import type {
  ICustomPartitioner,
  Message,
  PartitionerArgs,
  Producer,
  ProducerBatch,
  ProducerConfig,
  RecordMetadata,
} from 'kafkajs';
import { KafkaProducer } from '../../../lib/transports/kafka/kafka-producer.js';

/** A kafkajs client whose producer partitions and answers as kafkajs does: a base offset per partition. */
function fakeKafka(partitions: number) {
  const next = new Map<number, number>();
  const asked: Message[] = [];
  const producer = (config?: ProducerConfig): Producer => {
    const partitioner = (config!.createPartitioner as ICustomPartitioner)();
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));
    const fake: Partial<Producer> = {
      sendBatch: async ({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> => {
        const results: RecordMetadata[] = [];
        for (const { topic, messages } of topicMessages ?? []) {
          const counts = new Map<number, number>();
          for (const message of messages) {
            asked.push(message);
            const partition = partitioner({ topic, partitionMetadata, message } as PartitionerArgs);
            counts.set(partition, (counts.get(partition) ?? 0) + 1);
          }
          for (const [partition, count] of counts) {
            const base = next.get(partition) ?? 0;
            next.set(partition, base + count);
            results.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(base) });
          }
        }
        return results;
      },
    };
    return fake as Producer;
  };
  return { kafka: { producer }, asked };
}

describe('KafkaProducer', () => {
  it('reports the partition and offset of each record: its own partition, or the one the partitioner chose', async () => {
    const { kafka } = fakeKafka(3);
    const producer = new KafkaProducer(kafka);
    const records = [
      { topic: 'orders', key: Buffer.from('a'), value: Buffer.from('1') },
      { topic: 'orders', partition: 2, key: Buffer.from('b'), value: Buffer.from('2') },
      { topic: 'orders', key: Buffer.from('a'), value: Buffer.from('3') },
      { topic: 'orders', partition: 2, key: Buffer.from('c'), value: Buffer.from('4') },
    ];
    const metadata = await producer.produce(records);
    const chosen = metadata[0]!.partition;
    expect(chosen, 'the partitioner chose a partition of the topic').to.be.within(0, 2);
    expect(metadata.map((m) => m.partition)).to.deep.equal([chosen, 2, chosen, 2]);
    // offsets count per partition in the order of the records
    const offsets = metadata.map((m) => m.offset);
    expect([offsets[1], offsets[3]]).to.deep.equal([0, 1]);
    if (chosen !== 2) expect([offsets[0], offsets[2]]).to.deep.equal([0, 1]);
  });
});
