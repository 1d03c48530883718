import { RivuletError } from '../../core/errors.js';

/**
 * Where a table keeps its state on this worker: one keyspace per partition of the table's changelog,
 * each with the changelog offset its content reflects. Keys and values are the encoded bytes the table
 * writes to its changelog (the table layer owns the codecs), so a store never decodes anything and a
 * replay of the changelog writes the records' bytes as they are.
 *
 * The changelog is the source of truth. A store holds a copy and a checkpoint: the changelog offset it
 * reflects (the offset of the next record to apply). After a restart the table replays the changelog
 * from the checkpoint only. A change and the checkpoint it leads to are written together, atomically.
 *
 * Drivers: {@link MemoryTableStore} (the default; replays everything after a restart) and
 * `LmdbTableStore` from `rivulet/lmdb` (persistent; replays only the tail).
 *
 * @example
 * ```ts
 * const store: TableStore = new MemoryTableStore();
 * const key = Buffer.from('ada');
 * await store.apply(0, [{ key, value: Buffer.from('3') }], 42); // changelog records up to 41 applied
 * store.get(0, key); // <Buffer 33>
 * store.checkpoint(0); // 42: replay from offset 42 after a restart
 * ```
 */
export interface TableStore {
  /** For logs: the driver and where it keeps its data. */
  readonly description: string;
  /** The value of a key in a partition, or `undefined`. Synchronous. */
  get(partition: number, key: Buffer): Buffer | undefined;
  /**
   * Writes changes to a partition (a `null` value deletes the key), in order, together with the
   * changelog offset they bring the partition to (the offset of the next changelog record to apply).
   * All of it or nothing is stored. Rejects with {@link CheckpointRegressionError} when
   * `changelogOffset` is below the partition's checkpoint. Reads see the changes once it resolves.
   */
  apply(partition: number, changes: readonly StoreChange[], changelogOffset: number): Promise<void>;
  /** The changelog offset the partition's content reflects, or `undefined` when it has never been written. */
  checkpoint(partition: number): number | undefined;
  /** A page of a partition's keys in byte order, starting after `page.after`. */
  keys(partition: number, page?: KeyPageRequest): KeyPage;
  /** Number of keys in a partition. */
  size(partition: number): number;
  /** Partitions that hold keys or a checkpoint, in ascending order. */
  partitions(): number[];
  /** Forgets a partition (keys and checkpoint at once): it moved to another worker. */
  dropPartition(partition: number): Promise<void>;
  /** Releases the store. Nothing may be called after it. */
  close(): Promise<void>;
}

/**
 * One change of a key: its new value, or `null` to delete it (a changelog tombstone).
 *
 * @example
 * ```ts
 * const changes: StoreChange[] = [
 *   { key: Buffer.from('ada'), value: Buffer.from('4') },
 *   { key: Buffer.from('bob'), value: null }, // delete
 * ];
 * ```
 */
export interface StoreChange {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

/**
 * Which page of keys to list.
 *
 * @example
 * ```ts
 * const first = store.keys(0, { limit: 100 });
 * const second = first.next ? store.keys(0, { after: first.next, limit: 100 }) : undefined;
 * ```
 */
export interface KeyPageRequest {
  /** List keys strictly after this one (byte order). Default: from the first key. */
  readonly after?: Buffer;
  /**
   * Keys per page.
   * @defaultValue 100
   */
  readonly limit?: number;
}

/**
 * A page of keys, and where the next page starts.
 *
 * @example
 * ```ts
 * const { keys, next } = store.keys(0);
 * if (next) store.keys(0, { after: next });
 * ```
 */
export interface KeyPage {
  readonly keys: readonly Buffer[];
  /** The last key of this page when more may follow (pass it as `after`); absent on the last page. */
  readonly next?: Buffer;
}

/**
 * Keys per page when {@link KeyPageRequest.limit} is not given.
 *
 * @example
 * ```ts
 * store.keys(0).keys.length <= DEFAULT_KEY_PAGE_SIZE; // true
 * ```
 */
export const DEFAULT_KEY_PAGE_SIZE = 100;

/**
 * A store was asked to move a partition's checkpoint backwards: changes older than what it holds were
 * about to be applied again. The store is left unchanged.
 *
 * @example
 * ```ts
 * await store.apply(0, [], 10);
 * await store.apply(0, [], 9); // rejects: CheckpointRegressionError
 * ```
 */
export class CheckpointRegressionError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly partition: number,
    readonly checkpoint: number,
    readonly changelogOffset: number,
  ) {
    super(
      `Partition ${partition} of the store is at changelog offset ${checkpoint}; refusing to move it back to ${changelogOffset}`,
    );
  }
}

/**
 * A store was used after `close()`.
 *
 * @example
 * ```ts
 * await store.close();
 * store.get(0, key); // throws StoreClosedError
 * ```
 */
export class StoreClosedError extends RivuletError {
  override readonly retriable = false;

  constructor(description: string) {
    super(`The table store ${description} is closed`);
  }
}

/** Checks the arguments every driver checks the same way. @internal */
export function checkApply(partition: number, changelogOffset: number, checkpoint: number | undefined): void {
  checkPartition(partition);
  if (!Number.isSafeInteger(changelogOffset) || changelogOffset < 0)
    throw new RangeError(`A changelog offset must be a non-negative integer, not ${changelogOffset}`);
  if (checkpoint !== undefined && changelogOffset < checkpoint)
    throw new CheckpointRegressionError(partition, checkpoint, changelogOffset);
}

/** Throws a RangeError unless `partition` is a partition number. @internal */
export function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0xffff_ffff)
    throw new RangeError(`A partition must be a non-negative integer, not ${partition}`);
}

/** The page size a request asks for. @internal */
export function pageLimit(page: KeyPageRequest | undefined): number {
  const limit = page?.limit ?? DEFAULT_KEY_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`A page limit must be ≥ 1, not ${limit}`);
  return limit;
}
