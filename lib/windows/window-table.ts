import { json } from '../codecs/json.js';
import { string } from '../codecs/string.js';
import type { Codec } from '../codecs/codec.js';
import type { Message } from '../core/message.js';
import { type ApplyOutcome, Table, type TableHost } from '../tables/table.js';
import { type KeyWindows, addEvent, expiresAt, prune, removeWindow } from './key-windows.js';
import { earliestEnd } from './window-spec.js';
import {
  type EventTimePartition,
  type PendingResult,
  WindowPartition,
  resultId,
} from './window-partition.js';
import { IdleCloser } from './idle-closer.js';
import { ResultBindings } from './result-bindings.js';
import { type WindowBinding, WindowResults } from './window-results.js';
import type { OpenWindow, WindowTableOptions, WindowTableStats } from './window-types.js';

/** Header of every changelog record of a windowed table: the partition's watermark after the change. */
export const WATERMARK_HEADER = 'rivulet-watermark';

/** What {@link WindowTable.accept} reports for a record. @internal */
export type AcceptOutcome<K, A> =
  | ApplyOutcome<K, KeyWindows<A, unknown>>
  | { readonly kind: 'late'; readonly watermark: number; readonly windowEnd: number };

const DAY_MS = 86_400_000;
/** A window's removal and an expiry wait for the record cache's next flush: nothing commits by them. */
const LINGERS = { lingers: true } as const;

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
  readonly #parts = new Map<number, WindowPartition<K, A>>();
  readonly #results: WindowResults<K, A>;
  /** The subscriptions results go to: the first of those running (several under `groupBy` → `mergeMap`). */
  readonly #bindings = new ResultBindings<WindowBinding<K, A>>({
    serve: () => this.#serve(),
    unserved: () => {
      this.#idle.stop();
      this.#results.unbound();
    },
  });
  readonly #idle: IdleCloser<WindowPartition<K, A>>;
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
        ready: (partition) => void this.#part(partition),
        // Revoked partitions forget their windows (their results are the new owner's).
        revoked: (partitions) => this.revoked(partitions),
      },
    );
    this.#results = new WindowResults<K, A>({
      table: name,
      logger: host.logger,
      transport: () => host.transport(),
      binding: () => this.#bindings.current,
      part: (partition) => this.#parts.get(partition),
      remove: (result) => this.#remove(result),
      keyBytes: (key) => this.table.keyCodec.encode(key),
    });
    this.#idle = new IdleCloser<WindowPartition<K, A>>({
      name,
      logger: host.logger,
      idleAfterMs: this.idleAfterMs,
      binding: () => this.#bindings.current,
      owns: (part) => this.#parts.get(part.partition) === part,
      transport: () => host.transport(),
      writeWatermark: (part, watermark, then) => rewriteWatermark(this.table, part, watermark, then),
      closeDue: (part) => this.#closeDue(part),
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
    for (const [partition, part] of this.#parts) {
      if (Number.isFinite(part.watermark)) watermarks[partition] = part.watermark;
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

  /** Results go to the binding now current: those not settled yet again, and windows due close. */
  #serve(): void {
    for (const part of this.#parts.values()) {
      for (const result of part.results.values()) if (!result.handled) this.#results.emit(result);
      part.probing = false; // the last subscription's timers are gone
      this.#closeDue(part);
      this.#idle.arm(part);
    }
  }

  /** @internal The subscription ended: results go to another one still running, or wait for the next. */
  unbind(binding: WindowBinding<K, A>): void {
    this.#bindings.unbind(binding);
  }

  /** @internal The partitions moved away: their results and watermarks are the new owner's. */
  revoked(partitions: readonly number[]): void {
    for (const partition of partitions) this.#parts.delete(partition);
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
  accept(
    message: Message<T, unknown>,
    key: K,
    t: number,
    then: (outcome: AcceptOutcome<K, A>) => void,
  ): void {
    const local = this.table.agentScope === undefined;
    const partition = local ? 0 : message.partition;
    const part = this.#part(partition);
    const keyId = part ? this.table.keyId(key) : '';
    if (part) {
      part.lastRecordAt = this.#now();
      part.nextOffset = Math.max(part.nextOffset, message.offset + 1);
    }
    if (part && !this.table.wasApplied(message)) {
      const windowEnd = earliestEnd(this.options.window, t);
      if (windowEnd <= part.watermark) return then({ kind: 'late', watermark: part.watermark, windowEnd });
    }
    let next: KeyWindows<A, unknown> | undefined;
    let carried = Number.NEGATIVE_INFINITY;
    this.table.apply(
      message as Message<unknown, unknown>,
      key,
      (current) =>
        (next = addEvent(
          current,
          this.options.window,
          this.options.aggregate,
          t,
          message.value,
          part!.watermark,
        )),
      then,
      {
        // The record cache: the record moves on once its change is queued; its offset waits for the ack.
        early: true,
        staged: () => {
          // The change is made: the watermark moves, and the key's first window to close is noted.
          part!.observe(t, this.#now());
          carried = part!.watermark;
          const first = next!.w[0];
          if (first) part!.schedule(first[1], keyId, key);
          this.#idle.arm(part!);
          return { [WATERMARK_HEADER]: String(carried) };
        },
        // Windows close only up to a watermark the changelog holds.
        durable: (durable) => {
          if (!durable || this.#parts.get(partition) !== part) return;
          part!.durable = Math.max(part!.durable, carried);
          this.#closeDue(part!);
        },
      },
    );
  }

  /** The partition's window state, set up (from the restored table) the first time it is ready. */
  #part(partition: number): WindowPartition<K, A> | undefined {
    if (!this.table.isReady(partition)) return undefined;
    let part = this.#parts.get(partition);
    if (part) return part;
    part = new WindowPartition<K, A>(partition, this.graceMs, this.#now());
    const restored = Number(this.table.restoredHeaders(partition)?.[WATERMARK_HEADER]);
    if (Number.isFinite(restored)) part.restore(restored, this.#now());
    this.#parts.set(partition, part);
    let page = this.table.keys(partition, { limit: 1000 });
    for (;;) {
      for (const key of page.keys) this.#scheduleKey(part, key, this.table.get(key));
      if (page.next === undefined) break;
      page = this.table.keys(partition, { after: page.next, limit: 1000 });
    }
    this.#closeDue(part);
    this.#idle.arm(part);
    return part;
  }

  /** Notes when the key's first window closes (or its events expire), and arms the idle closer. */
  #scheduleKey(part: WindowPartition<K, A>, key: K, state: KeyWindows<A, unknown> | undefined): void {
    if (!state) return;
    const keyId = this.table.keyId(key);
    const first = state.w[0];
    const at = first ? first[1] : expiresAt(state, this.options.window);
    if (at === undefined) return;
    part.schedule(at, keyId, key);
    this.#idle.arm(part);
  }

  /** Emits the final result of every window the durable watermark has passed; expires old events. */
  #closeDue(part: WindowPartition<K, A>): void {
    if (!this.#bindings.current) return; // closed when a subscription is back
    const upTo = part.durable;
    for (const [keyId, key] of part.takeDue(upTo)) {
      const state = this.table.get(key);
      if (!state) continue;
      for (const [start, end, value] of state.w) {
        if (end > upTo) break; // windows are ordered by end
        const id = resultId(keyId, start, end);
        if (part.results.has(id)) continue;
        const result: PendingResult<K, A> = {
          partition: part.partition,
          key,
          keyId,
          start,
          end,
          value,
          attempts: 0,
          firstFailedAt: undefined,
          handled: false,
          lineage: undefined,
        };
        part.results.set(id, result);
        this.#results.emit(result);
      }
      const open = state.w.find(([, end]) => end > upTo);
      if (open) part.schedule(open[1], keyId, key);
      else if (state.w.length === 0) this.#expire(part, key, state, upTo);
    }
  }

  /** A key with no window left keeps events only while a new window may need them. */
  #expire(part: WindowPartition<K, A>, key: K, state: KeyWindows<A, unknown>, upTo: number): void {
    const kept = prune(state, this.options.window, upTo);
    // What is kept expires after upTo (prune keeps exactly the events a later window may need).
    if (kept && kept.ev?.length === state.ev?.length) return this.#scheduleKey(part, key, kept);
    this.table.put(
      part.partition,
      key,
      kept,
      this.#headers(part),
      (durable) => {
        if (durable && kept) this.#scheduleKey(part, key, kept);
      },
      LINGERS,
    );
  }

  /** Deletes a window whose final result was settled (or dead-lettered). */
  #remove(result: PendingResult<K, A>): void {
    const part = this.#parts.get(result.partition);
    const id = resultId(result.keyId, result.start, result.end);
    if (!part || part.results.get(id) !== result) return; // the partition moved away meanwhile
    result.handled = true;
    let state: KeyWindows<A, unknown> | undefined;
    try {
      state = this.table.get(result.key);
    } catch {
      part.results.delete(id);
      return;
    }
    const next = removeWindow(state, this.options.window, result.start, result.end, part.durable);
    this.table.put(
      part.partition,
      result.key,
      next,
      this.#headers(part),
      (durable) => {
        if (part.results.get(id) === result) part.results.delete(id);
        if (durable && next && next.w.length === 0) this.#scheduleKey(part, result.key, next);
      },
      LINGERS,
    );
  }

  #headers(part: WindowPartition<K, A>): Record<string, string> {
    return { [WATERMARK_HEADER]: String(part.watermark) };
  }

  #now(): number {
    return this.#bindings.current?.scheduler.now() ?? Date.now();
  }
}

/**
 * Re-writes the state of the key due first in `part`, with `watermark` in the changelog headers (an
 * idle partition's watermark, durable before anything closes by it) besides `headers`; `then(false)`
 * when the partition is moving away.
 * @internal
 */
export function rewriteWatermark<K, V>(
  table: Table<K, V>,
  part: EventTimePartition<K, unknown>,
  watermark: number,
  then: (durable: boolean) => void,
  headers: Readonly<Record<string, string>> = {},
): void {
  const key = part.firstDue()!;
  let state: V | undefined;
  try {
    state = table.get(key);
  } catch {
    return then(false);
  }
  table.put(part.partition, key, state, { ...headers, [WATERMARK_HEADER]: String(watermark) }, then);
}
