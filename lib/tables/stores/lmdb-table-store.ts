import { type Database, type RootDatabase, open } from 'lmdb';
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

/**
 * Options of {@link LmdbTableStore.open}.
 *
 * @example
 * ```ts
 * const options: LmdbTableStoreOptions = { path: './state/orders-per-symbol', maxPartitions: 64 };
 * ```
 */
export interface LmdbTableStoreOptions {
  /** The directory of the LMDB environment (created if missing). One per table. */
  readonly path: string;
  /**
   * Highest partition count the store will hold (LMDB sizes its table of databases when it opens).
   * @defaultValue 1024
   */
  readonly maxPartitions?: number;
  /**
   * Skip the flush to disk at each commit (~200 flushed commits/s on a plain disk against tens of
   * thousands). A killed process loses nothing (its commits are in the OS's page cache); a machine that
   * loses power may lose recent commits or the whole file, which is fine for a table: its changelog is
   * the source of truth, and a store found broken is deleted and replayed. Set `false` to flush each
   * commit.
   * @defaultValue true
   */
  readonly noSync?: boolean;
}

type PartitionDb = Database<Buffer, Buffer>;

const META_DB = 'rivulet:checkpoints';
/** Keys are stored behind one zero byte: LMDB refuses empty keys, tables may have one. */
const KEY_PREFIX = 0;
/** LMDB's largest key (as lmdb-js builds it), less the prefix byte. */
const MAX_KEY_BYTES = 1977;

/**
 * A persistent {@link TableStore} on LMDB (the `lmdb` package, an optional peer dependency): one LMDB
 * database per partition and one for the checkpoints, in one environment. Reads are synchronous and
 * memory-mapped; each `apply` is a single write transaction holding the changes and the checkpoint
 * together, so after a crash or restart the store holds exactly the changelog prefix its checkpoint
 * names, and the table replays only what follows. Keys are limited to 1977 bytes.
 *
 * Import it from `rivulet/lmdb` (the main entry never loads the native module).
 *
 * @example
 * ```ts
 * import { LmdbTableStore } from 'rivulet/lmdb';
 *
 * const store = LmdbTableStore.open({ path: './state/positions' });
 * store.checkpoint(0); // where the replay of changelog partition 0 starts after a restart
 * ```
 */
export class LmdbTableStore implements TableStore {
  readonly description: string;
  readonly #root: RootDatabase;
  readonly #meta: Database<Buffer, number>;
  readonly #dbs = new Map<number, PartitionDb>();
  readonly #checkpoints = new Map<number, number>();
  #closed = false;

  private constructor(options: LmdbTableStoreOptions) {
    this.description = `lmdb ${options.path}`;
    this.#root = open({
      path: options.path,
      noSync: options.noSync ?? true,
      maxDbs: (options.maxPartitions ?? 1024) + 1,
    });
    this.#meta = this.#root.openDB<Buffer, number>({
      name: META_DB,
      keyEncoding: 'uint32',
      encoding: 'binary',
    });
    for (const { key, value } of this.#meta.getRange()) this.#checkpoints.set(key, value.readDoubleBE(0));
  }

  /**
   * Opens (or creates) the store in a directory. Partitions and checkpoints written before are there.
   *
   * @example
   * ```ts
   * const store = LmdbTableStore.open({ path: './state/positions', maxPartitions: 64 });
   * ```
   */
  static open(options: LmdbTableStoreOptions): LmdbTableStore {
    return new LmdbTableStore(options);
  }

  get(partition: number, key: Buffer): Buffer | undefined {
    this.#open();
    if (!this.#checkpoints.has(partition)) return undefined;
    return this.#db(partition).get(storedKey(key));
  }

  async apply(partition: number, changes: readonly StoreChange[], changelogOffset: number): Promise<void> {
    this.#open();
    checkApply(partition, changelogOffset, this.#checkpoints.get(partition));
    for (const { key } of changes) {
      if (key.length > MAX_KEY_BYTES)
        throw new RangeError(
          `A key of an LMDB table store has at most ${MAX_KEY_BYTES} bytes, not ${key.length}`,
        );
    }
    const db = this.#db(partition);
    const checkpoint = Buffer.allocUnsafe(8);
    checkpoint.writeDoubleBE(changelogOffset, 0);
    this.#root.transactionSync(() => {
      for (const { key, value } of changes) {
        if (value === null) db.removeSync(storedKey(key));
        else db.putSync(storedKey(key), value);
      }
      this.#meta.putSync(partition, checkpoint);
    });
    this.#checkpoints.set(partition, changelogOffset);
  }

  checkpoint(partition: number): number | undefined {
    this.#open();
    return this.#checkpoints.get(partition);
  }

  keys(partition: number, page?: KeyPageRequest): KeyPage {
    this.#open();
    const limit = pageLimit(page);
    if (!this.#checkpoints.has(partition)) return { keys: [] };
    // The smallest key strictly after `after` is `after` followed by a zero byte.
    const start = page?.after ? Buffer.concat([storedKey(page.after), Buffer.of(0)]) : Buffer.of(KEY_PREFIX);
    const keys: Buffer[] = [];
    for (const key of this.#db(partition).getKeys({ start, limit: limit + 1 })) {
      keys.push(Buffer.from(key.subarray(1)));
    }
    if (keys.length <= limit) return { keys };
    keys.length = limit;
    return { keys, next: keys[limit - 1]! };
  }

  size(partition: number): number {
    this.#open();
    if (!this.#checkpoints.has(partition)) return 0;
    return (this.#db(partition).getStats() as { entryCount?: number }).entryCount ?? 0;
  }

  partitions(): number[] {
    this.#open();
    return [...this.#checkpoints.keys()].sort((a, b) => a - b);
  }

  async dropPartition(partition: number): Promise<void> {
    this.#open();
    checkPartition(partition);
    if (!this.#checkpoints.has(partition)) return;
    const db = this.#db(partition);
    this.#root.transactionSync(() => {
      db.clearSync();
      this.#meta.removeSync(partition);
    });
    this.#checkpoints.delete(partition);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dbs.clear();
    await this.#root.close();
  }

  #db(partition: number): PartitionDb {
    let db = this.#dbs.get(partition);
    if (!db) {
      db = this.#root.openDB<Buffer, Buffer>({
        name: `p:${partition}`,
        keyEncoding: 'binary',
        encoding: 'binary',
      });
      this.#dbs.set(partition, db);
    }
    return db;
  }

  #open(): void {
    if (this.#closed) throw new StoreClosedError(this.description);
  }
}

function storedKey(key: Buffer): Buffer {
  const stored = Buffer.allocUnsafe(key.length + 1);
  stored[0] = KEY_PREFIX;
  key.copy(stored, 1);
  return stored;
}
