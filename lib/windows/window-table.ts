import { json } from '../codecs/json.js';
import { string } from '../codecs/string.js';
import type { Codec } from '../codecs/codec.js';
import type { Message } from '../core/message.js';
import { type ApplyOptions, type ApplyOutcome, Table, type TableHost } from '../tables/table.js';
import { type KeyWindows, addEvent, plainWindows } from './key-windows.js';
import { earliestEnd } from './window-spec.js';
import { watermarkHeaders } from './watermark-header.js';
import type { WindowPartition } from './window-partition.js';
import { WindowPartitions } from './window-partitions.js';
import { ResultBindings } from './result-bindings.js';
import { type WindowBinding, WindowResults } from './window-results.js';
import type { OpenWindow, WindowTableOptions, WindowTableStats } from './window-types.js';

/** What {@link WindowTable.accept} reports for a record. @internal */
export type AcceptOutcome<K, A> =
  | ApplyOutcome<K, KeyWindows<A, unknown>>
  | { readonly kind: 'late'; readonly time: number; readonly watermark: number; readonly windowEnd: number };

/** Receives {@link AcceptOutcome}s, with the message they are for (one function can serve every record). @internal */
export type AcceptCallback<K, A> = (outcome: AcceptOutcome<K, A>, message: Message<unknown, unknown>) => void;

const DAY_MS = 86_400_000;
/** A record of a partition not ready here: the table refuses it before any change. */
const NOT_READY: ApplyOptions = { early: true };

/**
 * Windowed aggregates per key, kept in a changelogged table (`<app id>-<name>-changelog`, compacted,
 * with a retention of size + grace + a margin): tumbling, hopping or sliding windows, an aggregate, a
 * grace period. Updated by {@link aggregateWindows}, which emits one final result per window and key
 * when the window closes. Declared with `app.windowTable()`.
 *
 * When a window closes: once the watermark of its partition (the highest event time seen, minus
 * `graceMs`) passes its end; when the partition has caught up and received nothing for `idleAfterMs`,
 * event time is taken to move on with the wall clock from the highest event time seen (live data:
 * the window closes `graceMs` after its end by the wall clock). Its state is deleted only after the final
 * result settled downstream (or was dead-lettered).
 *
 * @example
 * ```ts
 * const perMinute = app.windowTable('orders-per-minute', { window: tumbling(60_000), aggregate: count(), graceMs: 5_000 });
 * app.agent('count', orders, (order$) => order$.pipe(aggregateWindows(perMinute), toInflux(influx, toPoint)));
 * ```
 */
export class WindowTable<K = string, T = unknown, A = unknown> {
  readonly name: string;
  /** @internal The table holding each key's windows. */
  readonly table: Table<K, KeyWindows<A, unknown>>;
  readonly graceMs: number;
  readonly idleAfterMs: number;
  readonly late: 'dead-letter' | 'drop';
  readonly #parts: WindowPartitions<K, A>;
  readonly #results: WindowResults<K, A>;
  /** The subscriptions results go to: the first of those running (several under `groupBy` → `mergeMap`). */
  readonly #bindings = new ResultBindings<WindowBinding<K, A>>({
    serve: () => this.#parts.serve(),
    unserved: () => {
      this.#parts.stop();
      this.#results.unbound();
    },
  });
  #lateDeadLettered = 0;
  #lateDropped = 0;

  /** @internal Use `app.windowTable()`. */
  constructor(
    private readonly host: TableHost,
    name: string,
    readonly options: WindowTableOptions<T, A, K>,
  ) {
    this.name = name;
    this.graceMs = options.graceMs ?? 0;
    this.idleAfterMs = options.idleAfterMs ?? 1000;
    this.late = options.late ?? 'dead-letter';
    const { window } = options;
    const retentionMs = window.size + this.graceMs + (options.retentionMarginMs ?? DAY_MS);
    this.table = new Table<K, KeyWindows<A, unknown>>(
      host,
      name,
      options.key ?? (string() as unknown as Codec<K>),
      json<KeyWindows<A, unknown>>(),
      {
        ...(options.store ? { store: options.store } : {}),
        ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
        ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
        ...(options.standbys !== undefined ? { standbys: options.standbys } : {}),
        ...(options.standbyPollMs !== undefined ? { standbyPollMs: options.standbyPollMs } : {}),
      },
      {
        changelogConfig: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(retentionMs) },
        // Windows restored from the changelog close (and expire) even if no record comes.
        ready: (partition) => void this.#parts.part(partition),
        // Revoked partitions forget their windows (their results are the new owner's).
        revoked: (partitions) => this.revoked(partitions),
        // A change's note is the watermark after it, named in its record only if that is produced.
        noteHeaders: watermarkHeaders,
      },
    );
    const binding = (): WindowBinding<K, A> | undefined => this.#bindings.current;
    this.#results = new WindowResults<K, A>({
      table: name,
      logger: host.logger,
      transport: () => host.transport(),
      binding,
      part: (partition) => this.#parts.get(partition),
      remove: (result) => this.#parts.remove(result),
      keyBytes: (key) => this.table.keyCodec.encode(key),
    });
    this.#parts = new WindowPartitions<K, A>({
      name,
      logger: host.logger,
      table: this.table,
      window,
      graceMs: this.graceMs,
      idleAfterMs: this.idleAfterMs,
      results: this.#results,
      transport: () => host.transport(),
      binding,
    });
  }

  /** The changelog topic. */
  get changelogTopic(): string {
    return this.table.changelogTopic;
  }

  /**
   * The open windows of `key` (closed ones whose result is not settled yet included), by end.
   * @throws `PartitionNotOwnedError` / `PartitionRecoveringError` as {@link Table.get}.
   *
   * @example
   * ```ts
   * perMinute.get('ACME'); // [{ start: 1764201600000, end: 1764201660000, value: 42 }]
   * ```
   */
  get(key: K): OpenWindow<A>[] {
    return (this.table.get(key)?.w ?? []).map(([start, end, value]) => ({ start, end, value }));
  }

  /**
   * Counters of this windowed table right now.
   *
   * @example
   * ```ts
   * console.log(perMinute.stats().watermarks);
   * ```
   */
  stats(): WindowTableStats {
    const watermarks: Record<number, number> = {};
    let pending = 0;
    for (const part of this.#parts.values()) {
      if (Number.isFinite(part.watermark)) watermarks[part.partition] = part.watermark;
      pending += part.results.size;
    }
    return {
      name: this.name,
      watermarks,
      pending,
      lateDeadLettered: this.#lateDeadLettered,
      lateDropped: this.#lateDropped,
      ...this.#results.counts(),
    };
  }

  /**
   * @internal An `aggregateWindows` subscription starts: results go to it (pending ones again), unless
   * another one still runs (one per group under `groupBy`): results keep going there.
   */
  bind(binding: WindowBinding<K, A>): void {
    this.#bindings.bind(binding);
  }

  /** @internal The subscription ended: results go to another one still running, or wait for the next. */
  unbind(binding: WindowBinding<K, A>): void {
    this.#bindings.unbind(binding);
  }

  /** @internal The partitions moved away: their results and watermarks are the new owner's. */
  revoked(partitions: readonly number[]): void {
    this.#parts.revoked(partitions);
  }

  /** @internal Counts a late record (dead-lettered or dropped). */
  countLate(): void {
    if (this.late === 'drop') this.#lateDropped++;
    else this.#lateDeadLettered++;
  }

  /**
   * @internal Adds a record at event time `t` to its windows: `then` gets the table's outcome once the
   * change is durable, or `late` (nothing changed) when one of its windows has closed.
   */
  accept(message: Message<T, unknown>, key: K, t: number, then: AcceptCallback<K, A>): void {
    const adding = this.#adding;
    const local = this.table.agentScope === undefined;
    const partition = local ? 0 : message.partition;
    const part = this.#parts.part(partition);
    if (part) {
      part.lastRecordAt = adding.now = this.#parts.now();
      part.nextOffset = Math.max(part.nextOffset, message.offset + 1);
      // Late, unless its change is in the table already (delivered again): then it passes as a replay.
      const windowEnd = earliestEnd(this.options.window, t);
      if (windowEnd <= part.watermark && !this.table.wasApplied(message))
        return then({ kind: 'late', time: t, watermark: part.watermark, windowEnd }, message);
    }
    adding.part = part;
    adding.t = t;
    adding.value = message.value;
    adding.key = key;
    this.table.apply(
      message as Message<unknown, unknown>,
      key,
      this.#update,
      then,
      part ? this.#applyOptions(part) : NOT_READY,
    );
    adding.part = undefined;
    adding.value = adding.next = adding.key = undefined;
  }

  /** The record being added: `Table.apply` calls `update`, then `staged`, synchronously, within `accept`. */
  readonly #adding: {
    part: WindowPartition<K, A> | undefined;
    t: number;
    /** The clock when it arrived. */
    now: number;
    value: unknown;
    key: K | undefined;
    next: KeyWindows<A, unknown> | undefined;
  } = { part: undefined, t: 0, now: 0, value: undefined, key: undefined, next: undefined };

  readonly #update = (current: KeyWindows<A, unknown> | undefined): KeyWindows<A, unknown> => {
    const adding = this.#adding;
    return (adding.next = addEvent(
      current,
      this.options.window,
      this.options.aggregate,
      adding.t,
      adding.value as T,
      adding.part!.watermark,
    ));
  };

  /**
   * The change is made: the watermark moves, and the key's first window to close is noted. Kept with
   * the change: the watermark after it.
   */
  readonly #staged = (keyId: string): number => {
    const { part, t, now, next, key } = this.#adding;
    part!.observe(t, now);
    const first = next!.w[0];
    if (first) part!.schedule(first[1], keyId, key!);
    this.#parts.arm(part!);
    return part!.watermark;
  };

  readonly #byPartition = new WeakMap<WindowPartition<K, A>, ApplyOptions<KeyWindows<A, unknown>>>();

  /**
   * How a partition's changes are applied: through the record cache (the record moves on once its
   * change is queued; its offset waits for the ack), and windows close only up to a watermark the
   * changelog acknowledged (the one its record carries).
   */
  #applyOptions(part: WindowPartition<K, A>): ApplyOptions<KeyWindows<A, unknown>> {
    let options = this.#byPartition.get(part);
    if (options) return options;
    options = {
      early: true,
      note: this.#staged,
      plain: plainWindows,
      durable: (durable, watermark) => {
        // every change here keeps a watermark; most carry one already durable, and close nothing new
        if (!durable || watermark! <= part.durable || this.#parts.get(part.partition) !== part) return;
        part.durable = watermark!;
        this.#parts.closeDue(part);
      },
    };
    this.#byPartition.set(part, options);
    return options;
  }
}
