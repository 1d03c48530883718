import type { PartitionResource } from '../agent/partition-resources.js';
import type { TopicPartition, TopicPartitionOffset } from '../transports/transport.js';

/**
 * The offsets an agent's group committed for each partition of its topic, as this worker saw its own
 * commits acknowledged: what a copy made by `repartition` carries as `rivulet-origin-committed`. A
 * partition this worker has not committed yet reads 0 (nothing is known to be final), which is always
 * safe: a lower floor only makes the receiver remember more.
 * @internal
 */
export class CommittedOffsets implements PartitionResource {
  readonly name = 'the committed offsets of a repartition';
  readonly #offsets = new Map<number, number>();

  /** The committed offset of `partition` (0 when none is known). */
  of(partition: number): number {
    return this.#offsets.get(partition) ?? 0;
  }

  assigned(): Promise<void> {
    return Promise.resolve();
  }

  revoked(partitions: readonly TopicPartition[]): void {
    for (const { partition } of partitions) this.#offsets.delete(partition);
  }

  committed(offsets: readonly TopicPartitionOffset[]): void {
    for (const { partition, offset } of offsets)
      if (offset > this.of(partition)) this.#offsets.set(partition, offset);
  }
}
