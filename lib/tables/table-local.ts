import type { Logger } from '../core/logger.js';
import { AppliedOffsets } from './applied-offsets.js';
import type { TableStore } from './stores/table-store.js';
import { TablePartition } from './table-partition.js';

/**
 * A table's state under test (no agent): its one partition, owning every key, made once written or
 * read, and the applied offsets per source partition of the records that changed it. Dropped when the
 * table is bound to an agent (what was written with no agent was local) and when it closes.
 * @internal
 */
export class TableLocal<V> {
  #part: TablePartition<V> | undefined;
  readonly #applied = new Map<number, AppliedOffsets>();

  constructor(
    private readonly store: TableStore,
    private readonly logger: Logger,
  ) {}

  /** The local partition if made already. */
  get existing(): TablePartition<V> | undefined {
    return this.#part;
  }

  /** The local partition, made (ready) on first use. */
  part(): TablePartition<V> {
    if (!this.#part) {
      this.#part = new TablePartition<V>(0, this.store, this.logger);
      this.#part.state = 'ready';
    }
    return this.#part;
  }

  /** The applied offsets of `sourcePartition`, made on first use. */
  applied(sourcePartition: number): AppliedOffsets {
    const applied = this.#applied.get(sourcePartition) ?? new AppliedOffsets();
    this.#applied.set(sourcePartition, applied);
    return applied;
  }

  /** The applied offsets of `sourcePartition` if any. */
  appliedOf(sourcePartition: number): AppliedOffsets | undefined {
    return this.#applied.get(sourcePartition);
  }

  /** Drops the partition (bound to an agent, or closed). */
  dropPart(): void {
    this.#part = undefined;
  }

  /** Drops the partition and the applied offsets (bound to an agent). */
  clear(): void {
    this.#part = undefined;
    this.#applied.clear();
  }
}
