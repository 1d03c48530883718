import {
  type KeyPage,
  type KeyPageRequest,
  type StoreChange,
  type TableStore,
  StoreClosedError,
  checkApply,
  checkPartition,
  pageLimit,
} from './table-store.js';

interface PartitionState {
  /** Keys as latin1 strings: one character per byte, so string order is byte order. */
  readonly entries: Map<string, Buffer>;
  checkpoint: number | undefined;
  /** The keys in order, kept between pages until the next write. */
  sorted: string[] | undefined;
}

/**
 * The default {@link TableStore}: a map per partition in this process's memory. Nothing survives a
 * restart, so a table on this store replays its whole changelog when it starts. Values are copied on
 * the way in (a record fetched from Kafka is a slice of a large buffer that would otherwise stay alive).
 * Listing keys sorts them once and reuses the order until the next write.
 *
 * @example
 * ```ts
 * const store = new MemoryTableStore();
 * await store.apply(3, [{ key: Buffer.from('ada'), value: Buffer.from('1') }], 1);
 * store.get(3, Buffer.from('ada'))?.toString(); // '1'
 * ```
 */
export class MemoryTableStore implements TableStore {
  readonly description = 'memory';
  readonly #partitions = new Map<number, PartitionState>();
  #closed = false;

  get(partition: number, key: Buffer): Buffer | undefined {
    return this.#partition(partition, false)?.entries.get(key.toString('latin1'));
  }

  async apply(partition: number, changes: readonly StoreChange[], changelogOffset: number): Promise<void> {
    this.#open();
    const existing = this.#partitions.get(partition);
    checkApply(partition, changelogOffset, existing?.checkpoint);
    const state = existing ?? this.#partition(partition, true)!;
    for (const { key, value } of changes) {
      if (value === null) state.entries.delete(key.toString('latin1'));
      else state.entries.set(key.toString('latin1'), Buffer.from(value));
    }
    if (changes.length > 0) state.sorted = undefined;
    state.checkpoint = changelogOffset;
  }

  checkpoint(partition: number): number | undefined {
    return this.#partition(partition, false)?.checkpoint;
  }

  keys(partition: number, page?: KeyPageRequest): KeyPage {
    const limit = pageLimit(page);
    const state = this.#partition(partition, false);
    if (!state) return { keys: [] };
    state.sorted ??= [...state.entries.keys()].sort();
    const sorted = state.sorted;
    const after = page?.after?.toString('latin1');
    let start = 0;
    if (after !== undefined) {
      // First key strictly greater than `after`.
      let high = sorted.length;
      while (start < high) {
        const middle = (start + high) >>> 1;
        if (sorted[middle]! <= after) start = middle + 1;
        else high = middle;
      }
    }
    const keys = sorted.slice(start, start + limit).map((key) => Buffer.from(key, 'latin1'));
    return start + limit < sorted.length ? { keys, next: keys[keys.length - 1]! } : { keys };
  }

  size(partition: number): number {
    return this.#partition(partition, false)?.entries.size ?? 0;
  }

  partitions(): number[] {
    this.#open();
    return [...this.#partitions.keys()].sort((a, b) => a - b);
  }

  async dropPartition(partition: number): Promise<void> {
    this.#open();
    checkPartition(partition);
    this.#partitions.delete(partition);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#partitions.clear();
  }

  #partition(partition: number, create: boolean): PartitionState | undefined {
    this.#open();
    let state = this.#partitions.get(partition);
    if (!state && create) {
      checkPartition(partition);
      state = { entries: new Map(), checkpoint: undefined, sorted: undefined };
      this.#partitions.set(partition, state);
    }
    return state;
  }

  #open(): void {
    if (this.#closed) throw new StoreClosedError(this.description);
  }
}
