import type { Codec } from '../codecs/codec.js';
import type { TableStore } from './stores/table-store.js';

/**
 * Options of `app.table()`.
 *
 * @example
 * ```ts
 * const options: TableOptions<string, number> = { value: json(z.number()), default: () => 0 };
 * const counts = app.table('counts', options);
 * ```
 */
export interface TableOptions<K, V> {
  /** Codec of keys (default `string()`); its bytes are the changelog record keys. */
  readonly key?: Codec<K>;
  /** Codec of values (default `json()`); it must decode synchronously. */
  readonly value?: Codec<V>;
  /** The value of a key never written. Without it, an absent key reads as `undefined`. */
  readonly default?: () => V;
  /**
   * Where this worker keeps the table's partitions (default: a {@link MemoryTableStore}, which replays
   * the whole changelog on each assignment; `LmdbTableStore` from `rivulet/lmdb` replays only the tail).
   */
  readonly store?: () => TableStore;
  /** Replication factor of the changelog topic (default: the broker's). */
  readonly replicationFactor?: number;
  /** Warn when restoring makes no progress this long, in ms (default 30 000). */
  readonly stallTimeoutMs?: number;
  /**
   * Standby replicas (Kafka Streams' `num.standby.replicas`): with 1 or more, this worker keeps a warm
   * copy of every partition of the table it does not own, tailing its changelog, so that taking a
   * partition over (a failover, a rebalance) replays only what the copy has not read yet. Without
   * knowledge of the group's placement, a worker follows all the partitions it does not own: exactly
   * `standbys` copies with `standbys + 1` workers, more with more workers (memory: the whole table on
   * each). Default 0: a new owner replays the partition's whole changelog (on the memory store).
   */
  readonly standbys?: number;
  /**
   * Pause between two catch-up rounds of the standby replicas, in ms (default 1000). Each round asks
   * the end offsets and reads what is new; on Kafka a read is a short-lived private consumer.
   */
  readonly standbyPollMs?: number;
}

/**
 * A standby replica in {@link TableStats}: a warm copy of a partition another worker owns.
 *
 * @example
 * ```ts
 * for (const s of counts.stats().standbys ?? []) console.log(s.partition, `${s.lag} records behind`);
 * ```
 */
export interface TableStandbyStats {
  readonly partition: number;
  /** Keys in the copy. */
  readonly keys: number;
  /** The changelog offset the copy reflects (the next record to apply). */
  readonly position: number;
  /** Changelog offsets between the copy and the end offset seen at the last round. */
  readonly lag: number;
  /** Times the copy was dropped and rebuilt (it was ahead of its changelog, or retention passed it). */
  readonly resets: number;
}

/**
 * A table's state as a whole: `idle` until it is bound (by its agent's pipeline, or the first message
 * that updates it) and its agent is assigned partitions, `recovering` while any partition replays its
 * changelog, `ready` otherwise.
 *
 * @example
 * ```ts
 * if (counts.stats().state === 'ready') serve();
 * ```
 */
export type TableState = 'idle' | 'recovering' | 'ready';

/**
 * One owned partition in {@link TableStats}.
 *
 * @example
 * ```ts
 * for (const p of counts.stats().partitions) console.log(p.partition, p.state, p.keys, `${p.read}/${p.toRead}`);
 * ```
 */
export interface TablePartitionStats {
  readonly partition: number;
  readonly state: 'recovering' | 'ready';
  /** Keys in the store. */
  readonly keys: number;
  /** Changelog records replayed so far (of the last recovery). */
  readonly read: number;
  /** Changelog records to replay (at most; fewer on a compacted changelog). */
  readonly toRead: number;
  /** Changes waiting for the broker's acknowledgement. */
  readonly pendingWrites: number;
}

/**
 * A snapshot of a table, for metrics and status pages.
 *
 * @example
 * ```ts
 * const { state, partitions } = counts.stats();
 * const keys = partitions.reduce((sum, p) => sum + p.keys, 0);
 * ```
 */
export interface TableStats {
  readonly name: string;
  readonly changelog: string;
  /** The store's description (`memory`, `lmdb <path>`). */
  readonly store: string;
  readonly state: TableState;
  /** Partition count of the table (its source's), once known. */
  readonly partitionCount: number | undefined;
  /** The partitions this worker owns. */
  readonly partitions: readonly TablePartitionStats[];
  /** Milliseconds the running recovery has made no progress, when it stalled. */
  readonly stalledMs: number | undefined;
  /** Changelog produce attempts that failed (and were retried). */
  readonly writeFailures: number;
  /** Warm copies of partitions owned elsewhere (`standbys` option), ascending. */
  readonly standbys?: readonly TableStandbyStats[];
}

/**
 * A page of a partition's keys ({@link Table.keys}).
 *
 * @example
 * ```ts
 * const { keys, next } = counts.keys(0, { limit: 50 });
 * ```
 */
export interface TableKeyPage<K> {
  readonly keys: readonly K[];
  /** Pass it as `after` for the next page; absent on the last page. */
  readonly next?: K;
}
