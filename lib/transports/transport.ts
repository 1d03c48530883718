/**
 * The contract between rivulet and a message broker. The in-memory broker (`memory://`) and the Kafka
 * transport (`kafka://`) implement it; so can any other client, to be plugged in with
 * `createApp({ transport })`.
 *
 * Delivery model: the transport fetches records per partition and hands them over in batches through
 * {@link ConsumerHandlers.onBatch}, awaiting the returned promise before handing over more of the same
 * partition. rivulet keeps its in-flight bound by making that promise wait and by pausing partitions;
 * it commits offsets itself (never automatically) once every record below them is settled.
 */

/** A partition of a topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** An offset of a partition; as a commit, the offset of the next record to read. */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/** A record as the broker stores it. */
export interface TransportRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/** Consecutive records of one partition, in offset order. */
export interface RecordBatch extends TopicPartition {
  readonly records: readonly TransportRecord[];
}

/** A record to produce. Without `partition`, keyed records go to murmur2(key) mod partitions (as Java's client). */
export interface ProducerRecord {
  readonly topic: string;
  readonly partition?: number;
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timestamp?: number;
}

/** Where a produced record landed. */
export type RecordMetadata = TopicPartitionOffset;

/** A topic to create if it does not exist. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** Consumer group membership. */
export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts: the earliest record (default) or the end. */
  readonly fromBeginning?: boolean;
}

/** Callbacks a consumer drives. */
export interface ConsumerHandlers {
  /**
   * Records of one partition. The transport awaits the result before handing over more records of that
   * partition. A number tells how many records of the batch were taken; the rest are fetched again
   * later (from that position). `undefined` means all were taken.
   */
  onBatch(batch: RecordBatch): Promise<number | void> | number | void;
  /** Partitions given to this consumer by the group. */
  onAssigned?(partitions: readonly TopicPartition[]): void;
  /**
   * Partitions taken away. Called before they go to another member; work settled by the time the
   * returned promise resolves may still be committed, nothing after.
   */
  onRevoked?(partitions: readonly TopicPartition[]): Promise<void> | void;
  /**
   * The group started rebalancing: commit what is settled now, while this member still owns its
   * partitions (Kafka accepts commits of the current generation until the new one forms).
   */
  onRebalancing?(): Promise<void> | void;
  /** The consumer died and will deliver nothing more (connection lost for good, crash). */
  onCrash?(error: Error): void;
}

/** A running consumer-group member. */
export interface TransportConsumer {
  /** Stop fetching these partitions until resumed. Records already handed over are unaffected. */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Commit offsets (next record to read) for the group. Rejects with `RebalanceInProgressError` for partitions no longer owned. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Leave the group and stop fetching. Resolves when no `onBatch` is running any more. */
  stop(): Promise<void>;
}

/**
 * A broker client. rivulet calls `connect` once before anything else and `close` last.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'orders', transport: new MemoryTransport(new MemoryBroker()) });
 * ```
 */
export interface Transport {
  /** A short description for logs (never contains secrets). */
  readonly description: string;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Create topics that do not exist yet (existing ones are left as they are). */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]>;
  consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<TransportConsumer>;
  /** Committed offsets of a group for a topic (partitions with no commit are left out). */
  committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]>;
  /** For each partition of a topic, the offset the next produced record will get. */
  endOffsets(topic: string): Promise<TopicPartitionOffset[]>;
}
