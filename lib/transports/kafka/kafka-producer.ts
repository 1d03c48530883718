import {
  type Kafka,
  type Message,
  type PartitionerArgs,
  Partitioners,
  type Producer,
  type RecordMetadata as KafkaRecordMetadata,
} from 'kafkajs';
import type { ProducerRecord, RecordMetadata } from '../transport.js';

/**
 * rivulet's producer on kafkajs: idempotent (`acks: -1`, one request in flight per broker), records
 * partitioned by kafkajs's default partitioner (Java-compatible murmur2 for keyed records), and the
 * partition and offset of every record reported back, in the order given.
 * @internal Created by `KafkaTransport`.
 *
 * @example
 * ```ts
 * const producer = new KafkaProducer(kafka);
 * await producer.connect();
 * const [{ partition, offset }] = await producer.produce([{ topic: 'orders', key, value }]);
 * ```
 */
export class KafkaProducer {
  readonly #producer: Producer;
  /** The partition kafkajs's partitioner chose for each message object it was given. */
  readonly #chosen = new WeakMap<Message, number>();

  constructor(kafka: Pick<Kafka, 'producer'>) {
    const chosen = this.#chosen;
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: () => {
        const partitioner = Partitioners.DefaultPartitioner();
        return (args: PartitionerArgs) => {
          const partition = partitioner(args);
          // A message sent to a partition of its choosing keeps it (read back in #metadata).
          if (args.message.partition === undefined) chosen.set(args.message, partition);
          return partition;
        };
      },
    });
  }

  connect(): Promise<void> {
    return this.#producer.connect();
  }

  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }

  async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return [];
    const messages: Message[] = [];
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      // Built field by field (no spreads): this runs for every record produced. kafkajs only reads the
      // headers, so the record's own object is passed.
      const message: Message = { key: record.key ?? null, value: record.value };
      if (record.partition !== undefined) message.partition = record.partition;
      if (record.headers) message.headers = record.headers as Message['headers'] & object;
      if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
      messages.push(message);
      const list = byTopic.get(record.topic);
      if (list) list.push(message);
      else byTopic.set(record.topic, [message]);
    }
    const results = await this.#producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
    });
    return this.#metadata(records, messages, results);
  }

  /** Offsets per record: kafkajs reports a base offset per partition, records keep their order in it. */
  #metadata(
    records: readonly ProducerRecord[],
    messages: readonly Message[],
    results: readonly KafkaRecordMetadata[],
  ): RecordMetadata[] {
    const next = new Map<string, number>();
    for (const result of results) {
      next.set(`${result.topicName}\u0000${result.partition}`, Number(result.baseOffset ?? '-1'));
    }
    return records.map((record, i) => {
      const message = messages[i]!;
      const partition = message.partition ?? this.#chosen.get(message) ?? -1;
      const slot = `${record.topic}\u0000${partition}`;
      const offset = next.get(slot) ?? -1;
      if (offset >= 0) next.set(slot, offset + 1);
      return { topic: record.topic, partition, offset };
    });
  }
}
