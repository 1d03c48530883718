import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PartitionReadTracker } from '../partition-read-tracker.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  PartitionRange,
  ProducerRecord,
  ReadPartitionsHandlers,
  ReadPartitionsResult,
  RecordMetadata,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
  TransportConsumer,
} from '../transport.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryConsumer } from './memory-consumer.js';

/**
 * Options of {@link MemoryTransport}.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'feed', transport: new MemoryTransport(memoryBroker(), { batchSize: 50 }) });
 * ```
 */
export interface MemoryTransportOptions {
  /** Records handed to an agent per batch (default 500). */
  readonly batchSize?: number;
}

const brokers = new Map<string, MemoryBroker>();

/**
 * The broker registered under a name: `memory://` (the name `default`) or `memory://name`. Apps of one
 * process that name the same broker share its topics and groups.
 *
 * @example
 * ```ts
 * const broker = memoryBroker('tests'); // the broker behind createApp({ broker: 'memory://tests' })
 * ```
 */
export function memoryBroker(name = 'default'): MemoryBroker {
  let broker = brokers.get(name);
  if (!broker) {
    broker = new MemoryBroker();
    brokers.set(name, broker);
  }
  return broker;
}

/**
 * The transport behind `memory://`: one client of a {@link MemoryBroker}. `crash()` kills its
 * consumers on the spot (no commit, no revoke), to test what a killed worker leaves behind.
 *
 * @example
 * ```ts
 * const broker = new MemoryBroker({ defaultPartitions: 3 });
 * const app = createApp({ id: 'feed', transport: new MemoryTransport(broker) });
 * ```
 */
export class MemoryTransport implements Transport {
  readonly description: string;
  readonly #consumers = new Set<MemoryConsumer>();
  readonly #batchSize: number;

  constructor(
    readonly broker: MemoryBroker = new MemoryBroker(),
    options: MemoryTransportOptions = {},
  ) {
    this.description = 'memory';
    this.#batchSize = options.batchSize ?? 500;
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((consumer) => consumer.stop()));
    this.#consumers.clear();
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    for (const topic of topics) this.broker.createTopic(topic.name, topic.partitions);
  }

  async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    return this.broker.produce(records);
  }

  async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<TransportConsumer> {
    const consumer = new MemoryConsumer(this.broker, options, handlers, this.#batchSize);
    this.#consumers.add(consumer);
    await consumer.start();
    return {
      pause: (partitions) => consumer.pause(partitions),
      resume: (partitions) => consumer.resume(partitions),
      commit: (offsets) => consumer.commit(offsets),
      stop: async () => {
        this.#consumers.delete(consumer);
        await consumer.stop();
      },
      group: () => consumer.group(),
    };
  }

  async committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    return this.broker.committedOffsets(groupId, topic);
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    return this.broker.endOffsets(topic);
  }

  /**
   * Reads each partition's range in batches of `batchSize`, partitions in turn, awaiting every
   * `onBatch` (see {@link Transport.readPartitions}).
   */
  async readPartitions(
    topic: string,
    ranges: readonly PartitionRange[],
    handlers: ReadPartitionsHandlers,
  ): Promise<ReadPartitionsResult> {
    const bounds = this.broker
      .endOffsets(topic)
      .map(({ partition, offset }) => ({ partition, low: 0, high: offset }));
    const tracker = new PartitionReadTracker(topic, ranges, bounds, handlers);
    void (async () => {
      while (!tracker.settled) {
        for (const { partition, position, to } of tracker.pending()) {
          const count = Math.min(this.#batchSize, to - position);
          await tracker.deliver(partition, this.broker.read(topic, partition, position, count));
          if (tracker.settled) return;
        }
        await yieldToEventLoop();
      }
    })().catch(() => undefined); // a failed onBatch has already failed the tracker
    return tracker.finished;
  }

  /** Kills every consumer of this client on the spot, as `kill -9` would: nothing more is committed. */
  async crash(): Promise<void> {
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    await Promise.all(consumers.map((consumer) => consumer.crash()));
  }
}
