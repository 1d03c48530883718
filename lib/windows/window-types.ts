import type { Codec } from '../codecs/codec.js';
import type { TableStore } from '../tables/stores/table-store.js';
import type { Aggregate } from './aggregate.js';
import type { WindowSpec } from './window-spec.js';

/**
 * Options of `app.windowTable()`.
 *
 * @example
 * ```ts
 * const options: WindowTableOptions<Order, number> = { window: tumbling(60_000), aggregate: count(), graceMs: 5_000 };
 * ```
 */
export interface WindowTableOptions<T, A, K = string> {
  /** How time is cut: {@link tumbling}, {@link hopping} or {@link sliding}. */
  readonly window: WindowSpec;
  /** What is computed per window and key (stored as JSON). */
  readonly aggregate: Aggregate<T, A, unknown>;
  /**
   * How long after a window's end records for it are still accepted, in ms of event time (default 0).
   * A window closes once the watermark (highest event time seen minus this) passes its end.
   */
  readonly graceMs?: number;
  /**
   * What happens to a record whose window already closed: `dead-letter` (default; the agent's
   * dead-letter topic, with a {@link LateRecordError}) or `drop` (counted in `stats().lateDropped`).
   */
  readonly late?: 'dead-letter' | 'drop';
  /**
   * A partition that has caught up and received nothing for this long (ms of wall clock) lets its
   * watermark follow the wall clock: event time moves on at the wall clock's pace from the highest
   * event time seen, so windows close with no new input (default 1000).
   */
  readonly idleAfterMs?: number;
  /** Codec of keys (default `string()`). */
  readonly key?: Codec<K>;
  /** Where this worker keeps the state (default memory; see `TableOptions.store`). */
  readonly store?: () => TableStore;
  /** Replication factor of the changelog topic (default: the broker's). */
  readonly replicationFactor?: number;
  /** Warn when restoring makes no progress this long, in ms (default 30 000). */
  readonly stallTimeoutMs?: number;
  /** Standby replicas of the state (see `TableOptions.standbys`; default 0). */
  readonly standbys?: number;
  /** Pause between standby catch-up rounds, in ms (see `TableOptions.standbyPollMs`). */
  readonly standbyPollMs?: number;
  /**
   * The changelog keeps records for the window size + grace + this, in ms (default one day): long
   * enough for a final result to wait out a sink outage. Older state is deleted by the broker.
   */
  readonly retentionMarginMs?: number;
}

/**
 * A window's aggregate for one key, as {@link aggregateWindows} emits it: `final` once the window has
 * closed (exactly one final result per window and key, settled before the window's state is deleted),
 * otherwise a running update (with `updates: true`).
 *
 * @example
 * ```ts
 * result$.pipe(mapValue((r: WindowResult<string, number>) => ({ symbol: r.key, count: r.value, at: r.start })));
 * ```
 */
export interface WindowResult<K, A> {
  readonly key: K;
  /** Start of the window, ms since the epoch (included). */
  readonly start: number;
  /** End of the window, ms since the epoch (excluded). */
  readonly end: number;
  readonly value: A;
  readonly final: boolean;
}

/**
 * An open window of a key ({@link WindowTable.get}).
 *
 * @example
 * ```ts
 * for (const { start, value } of perMinute.get('ACME')) console.log(new Date(start), value);
 * ```
 */
export interface OpenWindow<A> {
  readonly start: number;
  readonly end: number;
  readonly value: A;
}

/**
 * Counters of a windowed table ({@link WindowTable.stats}).
 *
 * @example
 * ```ts
 * const { watermarks, lateDeadLettered } = perMinute.stats();
 * ```
 */
export interface WindowTableStats {
  readonly name: string;
  /** Watermark per owned partition (ms since the epoch; absent before any event). */
  readonly watermarks: Readonly<Record<number, number>>;
  /** Final results emitted (counting re-emits after a failure). */
  readonly emitted: number;
  /** Final results settled downstream (their windows removed). */
  readonly settled: number;
  /** Final results handed downstream and not settled yet. */
  readonly pending: number;
  /** Final results that failed for good and went to the dead-letter topic. */
  readonly resultsDeadLettered: number;
  /** Late records sent to the dead-letter topic. */
  readonly lateDeadLettered: number;
  /** Late records counted and dropped (`late: 'drop'`). */
  readonly lateDropped: number;
}
