import { RebalanceInProgressError } from '../../core/errors.js';
import { partitionForKey } from '../partitioner.js';
import type {
  ProducerRecord,
  RecordMetadata,
  TopicPartition,
  TopicPartitionOffset,
  TransportRecord,
} from '../transport.js';

/**
 * A member of a consumer group, as the broker sees it.
 *
 * @example
 * ```ts
 * const member: GroupMember = { topics: ['orders'], revoke: async () => {}, assign: () => {} };
 * await broker.join('orders.audit', member, true); // resolves once partitions are assigned
 * ```
 */
export interface GroupMember {
  readonly topics: readonly string[];
  /** Take the partitions away (the member may commit what it settled until the promise resolves). */
  revoke(): Promise<void>;
  /** Give the member its new partitions, starting at the given positions. */
  assign(generation: number, partitions: readonly TopicPartitionOffset[]): void;
}

interface Group {
  readonly members: GroupMember[];
  readonly committed: Map<string, number>;
  readonly owners: Map<string, GroupMember>;
  generation: number;
  rebalancing: Promise<void>;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * An in-process Kafka look-alike: topics with partitions, keyed partitioning (murmur2, as Kafka), consumer
 * groups with range assignment and rebalances, committed offsets, and redelivery from the committed
 * offset when a member leaves or crashes. It holds everything in memory and forgets it when the process
 * ends. Behind `memory://`, for `npm start`, tests and samples.
 *
 * @example
 * ```ts
 * const broker = new MemoryBroker({ defaultPartitions: 4 });
 * const app = createApp({ id: 'demo', transport: new MemoryTransport(broker) });
 * ```
 */
export class MemoryBroker {
  readonly #topics = new Map<string, TransportRecord[][]>();
  readonly #groups = new Map<string, Group>();
  readonly #listeners = new Set<() => void>();
  readonly #defaultPartitions: number;
  #roundRobin = 0;

  constructor(options: { defaultPartitions?: number } = {}) {
    this.#defaultPartitions = options.defaultPartitions ?? 1;
  }

  /** Creates a topic unless it exists. Returns its partition count. */
  createTopic(name: string, partitions = this.#defaultPartitions): number {
    let log = this.#topics.get(name);
    if (!log) {
      log = Array.from({ length: Math.max(1, partitions) }, () => []);
      this.#topics.set(name, log);
    }
    return log.length;
  }

  /** Partition count of a topic, creating it with the default count if needed (as Kafka's auto-create). */
  partitions(name: string): number {
    return this.createTopic(name);
  }

  /** Appends records and wakes consumers. */
  produce(records: readonly ProducerRecord[], now = Date.now()): RecordMetadata[] {
    const result: RecordMetadata[] = [];
    for (const record of records) {
      const log = this.#log(record.topic);
      const partition = record.partition ?? this.#choosePartition(record.key ?? null, log.length);
      const stored = log[partition];
      if (!stored) throw new RangeError(`Topic ${record.topic} has no partition ${partition}`);
      const offset = stored.length;
      stored.push({
        offset,
        key: record.key ?? null,
        value: record.value,
        headers: record.headers ?? {},
        timestamp: record.timestamp ?? now,
      });
      result.push({ topic: record.topic, partition, offset });
    }
    for (const listener of this.#listeners) listener();
    return result;
  }

  /** Up to `max` records of a partition from `offset` on. */
  read(topic: string, partition: number, offset: number, max: number): readonly TransportRecord[] {
    const stored = this.#log(topic)[partition] ?? [];
    if (offset >= stored.length) return [];
    return stored.slice(offset, offset + max);
  }

  /** Offset the next record of a partition will get. */
  endOffset(topic: string, partition: number): number {
    return this.#log(topic)[partition]?.length ?? 0;
  }

  /** End offsets of every partition of a topic. */
  endOffsets(topic: string): TopicPartitionOffset[] {
    return this.#log(topic).map((stored, partition) => ({ topic, partition, offset: stored.length }));
  }

  /** Committed offsets of a group for a topic. */
  committedOffsets(groupId: string, topic: string): TopicPartitionOffset[] {
    const group = this.#groups.get(groupId);
    if (!group) return [];
    const result: TopicPartitionOffset[] = [];
    const partitions = this.#log(topic).length;
    for (let partition = 0; partition < partitions; partition++) {
      const offset = group.committed.get(tpKey(topic, partition));
      if (offset !== undefined) result.push({ topic, partition, offset });
    }
    return result;
  }

  /** Called on every produce; returns a function that unsubscribes. */
  onProduce(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds a member and rebalances the group. Resolves once partitions are assigned. */
  join(groupId: string, member: GroupMember, fromBeginning: boolean): Promise<void> {
    const group = this.#group(groupId);
    group.members.push(member);
    return this.#rebalance(group, fromBeginning);
  }

  /**
   * Removes a member without revoking it (it committed what it wanted before leaving, or it crashed).
   * The other members then share its partitions from the committed offsets.
   */
  leave(groupId: string, member: GroupMember, fromBeginning: boolean): Promise<void> {
    const group = this.#group(groupId);
    const index = group.members.indexOf(member);
    if (index < 0) return group.rebalancing;
    group.members.splice(index, 1);
    for (const [key, owner] of group.owners) if (owner === member) group.owners.delete(key);
    return this.#rebalance(group, fromBeginning);
  }

  /**
   * How many members a consumer group has right now (0 for a group nobody joined).
   *
   * @example
   * ```ts
   * await waitFor(() => broker.members('orders.orders.subscriber') === 0); // the subscription has left
   * ```
   */
  members(groupId: string): number {
    return this.#groups.get(groupId)?.members.length ?? 0;
  }

  /** Stores offsets if `member` owns the partitions in the current generation. */
  commit(groupId: string, member: GroupMember, offsets: readonly TopicPartitionOffset[]): void {
    const group = this.#group(groupId);
    for (const { topic, partition } of offsets) {
      if (group.owners.get(tpKey(topic, partition)) !== member) {
        throw new RebalanceInProgressError(
          `${topic}[${partition}] is not assigned to this member of group ${groupId}`,
        );
      }
    }
    for (const { topic, partition, offset } of offsets) group.committed.set(tpKey(topic, partition), offset);
  }

  #log(topic: string): TransportRecord[][] {
    this.createTopic(topic);
    return this.#topics.get(topic)!;
  }

  #group(groupId: string): Group {
    let group = this.#groups.get(groupId);
    if (!group) {
      group = {
        members: [],
        committed: new Map(),
        owners: new Map(),
        generation: 0,
        rebalancing: Promise.resolve(),
      };
      this.#groups.set(groupId, group);
    }
    return group;
  }

  #choosePartition(key: Buffer | null, partitions: number): number {
    if (key !== null) return partitionForKey(key, partitions);
    this.#roundRobin = (this.#roundRobin + 1) % partitions;
    return this.#roundRobin;
  }

  /** Revokes everything, then assigns contiguous ranges of each topic's partitions to its members. */
  #rebalance(group: Group, fromBeginning: boolean): Promise<void> {
    group.rebalancing = group.rebalancing.then(async () => {
      const members = [...group.members];
      await Promise.all(members.map((member) => member.revoke()));
      group.owners.clear();
      const generation = ++group.generation;
      const assignments = new Map<GroupMember, TopicPartitionOffset[]>(members.map((m) => [m, []]));
      const topics = new Set(members.flatMap((member) => member.topics));
      for (const topic of topics) {
        const subscribers = members.filter((member) => member.topics.includes(topic));
        const count = this.#log(topic).length;
        subscribers.forEach((member, index) => {
          const from = Math.floor((index * count) / subscribers.length);
          const to = Math.floor(((index + 1) * count) / subscribers.length);
          for (let partition = from; partition < to; partition++) {
            const start =
              group.committed.get(tpKey(topic, partition)) ??
              (fromBeginning ? 0 : this.endOffset(topic, partition));
            assignments.get(member)!.push({ topic, partition, offset: start });
            group.owners.set(tpKey(topic, partition), member);
          }
        });
      }
      for (const [member, partitions] of assignments) member.assign(generation, partitions);
    });
    return group.rebalancing;
  }
}

/** Identifies a partition in maps. @internal */
export function partitionKey(tp: TopicPartition): string {
  return tpKey(tp.topic, tp.partition);
}
