import type { GroupStats } from './group-membership.js';

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

/**
 * A partition of a topic.
 *
 * @example
 * ```ts
 * const partition: TopicPartition = { topic: 'orders', partition: 0 };
 * consumer.pause([partition]);
 * ```
 */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * An offset of a partition; as a commit, the offset of the next record to read.
 *
 * @example
 * ```ts
 * await consumer.commit([{ topic: 'orders', partition: 0, offset: 42 }]); // next to read: offset 42
 * ```
 */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/**
 * A record as the broker stores it.
 *
 * @example
 * ```ts
 * const record: TransportRecord = { offset: 7, key: Buffer.from('u1'), value: null, headers: {}, timestamp: 0 };
 * record.value === null; // a tombstone
 * ```
 */
export interface TransportRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/**
 * Consecutive records of one partition, in offset order.
 *
 * @example
 * ```ts
 * const onBatch = (batch: RecordBatch) =>
 *   console.log(`${batch.topic}[${batch.partition}]: offsets ${batch.records[0]?.offset} and on`);
 * ```
 */
export interface RecordBatch extends TopicPartition {
  readonly records: readonly TransportRecord[];
}

/**
 * A record to produce. Without `partition`, keyed records go to murmur2(key) mod partitions (as Java's client).
 *
 * @example
 * ```ts
 * const record: ProducerRecord = { topic: 'orders', key: Buffer.from('u1'), value: Buffer.from('{"qty":3}') };
 * await transport.produce([record]);
 * ```
 */
export interface ProducerRecord {
  readonly topic: string;
  readonly partition?: number;
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timestamp?: number;
}

/**
 * Where a produced record landed.
 *
 * @example
 * ```ts
 * const { partition, offset }: RecordMetadata = await orders.send(order, { key: order.user });
 * ```
 */
export type RecordMetadata = TopicPartitionOffset;

/**
 * A topic to create if it does not exist.
 *
 * @example
 * ```ts
 * await transport.ensureTopics([{ name: 'orders', partitions: 6, config: { 'cleanup.policy': 'compact' } }]);
 * ```
 */
export interface TopicSpec {
  readonly name: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/**
 * Consumer group membership.
 *
 * @example
 * ```ts
 * const options: ConsumerOptions = { groupId: 'orders.audit', topics: ['orders'], fromBeginning: false };
 * const consumer = await transport.consume(options, handlers);
 * ```
 */
export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts: the earliest record (default) or the end. */
  readonly fromBeginning?: boolean;
}

/**
 * Callbacks a consumer drives.
 *
 * @example
 * ```ts
 * const handlers: ConsumerHandlers = {
 *   onBatch: (batch) => batch.records.length, // every record taken
 *   onCrash: (error) => console.error('consumer died', error),
 * };
 * ```
 */
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

/**
 * A running consumer-group member.
 *
 * @example
 * ```ts
 * const consumer: TransportConsumer = await transport.consume(options, handlers);
 * await consumer.commit([{ topic: 'orders', partition: 0, offset: 42 }]);
 * await consumer.stop();
 * ```
 */
export interface TransportConsumer {
  /** Stop fetching these partitions until resumed. Records already handed over are unaffected. */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Commit offsets (next record to read) for the group. Rejects with `RebalanceInProgressError` for partitions no longer owned. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Leave the group and stop fetching. Resolves when no `onBatch` is running any more. */
  stop(): Promise<void>;
  /** This member's view of its group (generation, rebalances, partitions gained and lost), if known. */
  group?(): GroupStats;
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
  /** Reads partitions by offset range, outside any group: see {@link PartitionReader}. Optional. */
  readPartitions?: PartitionReader['readPartitions'];
}

/**
 * A stretch of one partition to read: offsets `from` (included) up to `to` (excluded), `to` being an end
 * offset captured beforehand (so the read ends even while producers go on writing).
 *
 * @example
 * ```ts
 * const [end] = await transport.endOffsets('orders-count-changelog');
 * const range: PartitionRange = { partition: 0, from: store.checkpoint(0) ?? 0, to: end!.offset };
 * ```
 */
export interface PartitionRange {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/**
 * How far a {@link Transport.readPartitions} call is. On a compacted topic fewer records than
 * `toRead` exist: `read` ends below it and `remaining` still reaches 0.
 *
 * @example
 * ```ts
 * const onProgress = ({ read, toRead }: ReadProgress) => console.log(`replayed ${read} of at most ${toRead}`);
 * ```
 */
export interface ReadProgress {
  readonly topic: string;
  /** Records handed to `onBatch` so far. */
  readonly read: number;
  /** Sum of `to - from` over the requested partitions: the most there is to read. */
  readonly toRead: number;
  /** Sum over the partitions of the offsets left between the reader's position and `to`. */
  readonly remaining: number;
  /** Partitions read up to their `to`. */
  readonly partitionsDone: number;
  readonly partitions: number;
}

/**
 * A read made no progress for `stallTimeoutMs`: what it waits for, and on which partitions.
 *
 * @example
 * ```ts
 * const onStall = (stall: ReadStall) =>
 *   logger.warn({ ...stall }, stall.waitingFor === 'onBatch' ? 'restore waits on the store' : 'restore waits on the broker');
 * ```
 */
export interface ReadStall {
  readonly topic: string;
  /** Milliseconds since the last progress. */
  readonly idleMs: number;
  /** `onBatch` has not returned yet (the consumer is slow), or the broker has sent nothing. */
  readonly waitingFor: 'onBatch' | 'broker';
  /** The partitions not done yet: where the reader is, and where it stops. */
  readonly pending: readonly { readonly partition: number; readonly position: number; readonly to: number }[];
}

/**
 * Callbacks and limits of a {@link Transport.readPartitions} call.
 *
 * @example
 * ```ts
 * const handlers: ReadPartitionsHandlers = {
 *   onBatch: (batch) => store.apply(batch.partition, toChanges(batch.records), batch.records.at(-1)!.offset + 1),
 *   onProgress: (progress) => status.update(progress),
 *   stallTimeoutMs: 30_000,
 * };
 * ```
 */
export interface ReadPartitionsHandlers {
  /** Records of one partition, in offset order, all in the requested range; awaited before the next batch. */
  onBatch(batch: RecordBatch): Promise<void> | void;
  /** Called after each batch, and once at the start. */
  onProgress?(progress: ReadProgress): void;
  /**
   * Milliseconds without progress before `onStall` is called (then again after each such period).
   * @defaultValue 30000
   */
  readonly stallTimeoutMs?: number;
  /** The read made no progress for `stallTimeoutMs`. Without it, the transport logs a warning (if it logs). */
  onStall?(stall: ReadStall): void;
  /** Aborting stops the read: the promise rejects with `PartitionReadAbortedError`. */
  readonly signal?: AbortSignal;
  /**
   * Retention deleted the start of a partition's range (`from` is below the first offset still
   * stored, `low`): the read starts at `low`. Called before any batch of that partition, so that a
   * reader keeping a copy (a table store's checkpoint) can drop it rather than miss the records gone.
   */
  onTruncated?(partition: number, low: number): void;
}

/**
 * What a finished {@link Transport.readPartitions} call read.
 *
 * @example
 * ```ts
 * const { read, durationMs } = await transport.readPartitions!(topic, ranges, { onBatch });
 * console.log(`${Math.round(read / (durationMs / 1000))} records/s`);
 * ```
 */
export interface ReadPartitionsResult {
  readonly topic: string;
  /** Records handed to `onBatch`. */
  readonly read: number;
  readonly durationMs: number;
}

/**
 * Reading partitions by offset range, outside any consumer group's offsets: what a table needs to
 * restore its state from a changelog. Implemented by the memory and Kafka transports.
 *
 * @example
 * ```ts
 * if (isPartitionReader(transport)) await transport.readPartitions(changelog, ranges, { onBatch });
 * ```
 */
export interface PartitionReader {
  /**
   * Reads each range (one per partition) and resolves once every partition reached its `to`. Batches
   * of one partition come in offset order, each awaited; records at or past `to` are never handed
   * over. A range with `from >= to` is done at once; so is one whose records were all deleted by
   * retention. Rejects with `PartitionReadRangeError` for a partition the topic does not have or a `to`
   * past its end offset, and never commits offsets anywhere.
   */
  readPartitions(
    topic: string,
    ranges: readonly PartitionRange[],
    handlers: ReadPartitionsHandlers,
  ): Promise<ReadPartitionsResult>;
}

/**
 * Whether a transport can read partitions by offset range ({@link PartitionReader}).
 *
 * @example
 * ```ts
 * if (!isPartitionReader(transport)) throw new ConfigurationError('tables need a transport that reads partitions');
 * ```
 */
export function isPartitionReader(transport: Transport): transport is Transport & PartitionReader {
  return typeof (transport as Partial<PartitionReader>).readPartitions === 'function';
}
