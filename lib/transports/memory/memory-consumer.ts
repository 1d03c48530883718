import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { RebalanceInProgressError } from '../../core/errors.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  TopicPartition,
  TopicPartitionOffset,
  TransportConsumer,
} from '../transport.js';
import { GroupMembership, type GroupStats } from '../group-membership.js';
import { type GroupMember, type MemoryBroker, partitionKey } from './memory-broker.js';

/** Members made so far in this process: each gets an id of its own, as a Kafka group member does. */
let members = 0;

interface Assigned {
  readonly topic: string;
  readonly partition: number;
  position: number;
  paused: boolean;
}

/**
 * A consumer-group member of the {@link MemoryBroker}: fetches batches from its partitions in turn,
 * awaiting each `onBatch`, and parks when there is nothing to deliver.
 * @internal Created by `MemoryTransport.consume`.
 */
export class MemoryConsumer implements TransportConsumer, GroupMember {
  readonly topics: readonly string[];
  #assigned = new Map<string, Assigned>();
  #generation = -1;
  readonly #membership = new GroupMembership();
  readonly #memberId = `memory-${++members}`;
  /** Partitions owned before the rebalance under way (revoke hands back all of them). */
  #before = new Set<string>();
  #running = true;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();
  readonly #unsubscribe: () => void;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly options: ConsumerOptions,
    private readonly handlers: ConsumerHandlers,
    private readonly batchSize: number,
  ) {
    this.topics = options.topics;
    this.#unsubscribe = broker.onProduce(() => this.#signal());
  }

  /** Joins the group and starts fetching. */
  async start(): Promise<void> {
    await this.broker.join(this.options.groupId, this, this.options.fromBeginning ?? true);
    this.#loop = this.#run();
  }

  async revoke(): Promise<void> {
    this.#membership.rebalancing();
    this.#before = new Set(this.#assigned.keys());
    const partitions = [...this.#assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
    if (partitions.length > 0 && this.handlers.onRevoked) await this.handlers.onRevoked(partitions);
    this.#assigned = new Map();
  }

  assign(generation: number, partitions: readonly TopicPartitionOffset[]): void {
    this.#generation = generation;
    this.#assigned = new Map(
      partitions.map(({ topic, partition, offset }) => [
        partitionKey({ topic, partition }),
        { topic, partition, position: offset, paused: false },
      ]),
    );
    const now = new Set(this.#assigned.keys());
    this.#membership.joined({
      memberId: this.#memberId,
      leader: false,
      generation,
      gained: [...now].filter((tp) => !this.#before.has(tp)).length,
      lost: [...this.#before].filter((tp) => !now.has(tp)).length,
      partitions: now.size,
    });
    this.#before = now;
    this.handlers.onAssigned?.(partitions.map(({ topic, partition }) => ({ topic, partition })));
    this.#signal();
  }

  /** This member's view of its group (generation, rebalances, partitions gained and lost). */
  group(): GroupStats {
    return this.#membership.stats();
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const assigned = this.#assigned.get(partitionKey(tp));
      if (assigned) assigned.paused = true;
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const assigned = this.#assigned.get(partitionKey(tp));
      if (assigned) assigned.paused = false;
    }
    this.#signal();
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (!this.#running) throw new RebalanceInProgressError('consumer has left its group');
    this.broker.commit(this.options.groupId, this, offsets);
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe();
    this.#signal();
    await this.#loop;
    await this.broker.leave(this.options.groupId, this, this.options.fromBeginning ?? true);
    this.#membership.left();
  }

  /** Dies on the spot: no more deliveries, no commits, no revoke; the group reassigns its partitions. */
  crash(): Promise<void> {
    this.#running = false;
    this.#unsubscribe();
    this.#signal();
    this.#membership.dropped(false);
    this.handlers.onCrash?.(new Error('consumer crashed'));
    return this.broker.leave(this.options.groupId, this, this.options.fromBeginning ?? true);
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let delivered = false;
      for (const assigned of [...this.#assigned.values()]) {
        if (!this.#running) return;
        if (assigned.paused) continue;
        const records = this.broker.read(
          assigned.topic,
          assigned.partition,
          assigned.position,
          this.batchSize,
        );
        if (records.length === 0) continue;
        delivered = true;
        const generation = this.#generation;
        const taken = await this.handlers.onBatch({
          topic: assigned.topic,
          partition: assigned.partition,
          records,
        });
        // A rebalance during the batch hands the partition out again from the committed offset.
        if (generation === this.#generation) assigned.position += taken ?? records.length;
      }
      if (!this.#running) return;
      if (delivered) await yieldToEventLoop();
      else await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}
