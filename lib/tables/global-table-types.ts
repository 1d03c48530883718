import type { SchedulerLike } from 'rxjs';
import type { Codec } from '../codecs/codec.js';
import type { Topic } from '../topics/topic.js';
import type { TableStore } from './stores/table-store.js';

/**
 * Options of `app.globalTable()`.
 *
 * @example
 * ```ts
 * const options: GlobalTableOptions<Customer> = { value: json(Customer), partitions: 3 };
 * const customers = app.globalTable('customers', options);
 * ```
 */
export interface GlobalTableOptions<V, K = string> {
  /** Codec of values (default `json()`); it must decode synchronously. */
  readonly value?: Codec<V>;
  /** Codec of keys (default `string()`). */
  readonly key?: Codec<K>;
  /**
   * The topic that feeds the table: a name (declared with `cleanup.policy=compact`, created if missing)
   * or a topic declared already (used as it is). Default: the topic named like the table.
   */
  readonly topic?: string | Topic<V, K>;
  /** Partitions of the topic when rivulet creates it (default: the broker's default). */
  readonly partitions?: number;
  /**
   * Where this worker keeps its copy (default: a `MemoryTableStore`, which reads the whole topic on each
   * start; `LmdbTableStore` from `rivulet/lmdb` reads only what came after its checkpoint).
   */
  readonly store?: () => TableStore;
  /**
   * How often the end offsets of the topic are fetched to show how far behind this worker's copy is,
   * in ms (default 5 000).
   */
  readonly lagRefreshMs?: number;
  /** Warn when the restore makes no progress this long, in ms (default 30 000). */
  readonly stallTimeoutMs?: number;
  /** The scheduler of the lag refresh and of the tail's restarts (a `TestScheduler` in tests). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Where a global table is: `idle` until the app starts, `restoring` while it reads its topic up to the
 * end offsets seen at start, `ready` once it has (then it follows the topic), `closed` after the app
 * stopped.
 *
 * @example
 * ```ts
 * if (customers.stats().state === 'ready') serve();
 * ```
 */
export type GlobalTableState = 'idle' | 'restoring' | 'ready' | 'closed';

/**
 * One partition of a global table's topic in {@link GlobalTableStats}: this worker's copy of it.
 *
 * @example
 * ```ts
 * for (const p of customers.stats().partitions) console.log(p.partition, `${p.position}/${p.end}`, p.lag);
 * ```
 */
export interface GlobalTablePartitionStats {
  readonly partition: number;
  /** Keys of the partition in this worker's copy. */
  readonly keys: number;
  /** The offset of the next record of the topic this worker's copy will apply. */
  readonly position: number;
  /** The partition's end offset, as last fetched (refreshed every `lagRefreshMs`). */
  readonly end: number;
  /** Records of the partition not applied here yet: `end - position` (0 when caught up). */
  readonly lag: number;
}

/**
 * A snapshot of a global table on this worker, for metrics and status pages.
 *
 * @example
 * ```ts
 * const { state, partitions } = customers.stats();
 * const behind = partitions.reduce((sum, p) => sum + p.lag, 0);
 * ```
 */
export interface GlobalTableStats {
  readonly name: string;
  /** The topic that feeds it. */
  readonly topic: string;
  /** The store's description (`memory`, `lmdb <path>`). */
  readonly store: string;
  readonly state: GlobalTableState;
  /** Partition count of the topic, once known. */
  readonly partitionCount: number | undefined;
  /** Every partition of the topic (a global table holds them all). */
  readonly partitions: readonly GlobalTablePartitionStats[];
  /** Times the consumer following the topic crashed and was restarted. */
  readonly tailRestarts: number;
}
