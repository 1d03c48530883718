import type { Logger } from '../core/logger.js';
import type { Table } from '../tables/table.js';
import { eachKey } from '../tables/each-key.js';
import type { Transport } from '../transports/transport.js';
import { IdleCloser } from './idle-closer.js';
import { type KeyWindows, expiresAt, prune, removeWindow } from './key-windows.js';
import { WATERMARK_HEADER, rewriteWatermark, watermarkHeaders } from './watermark-header.js';
import { type PendingResult, WindowPartition, resultId } from './window-partition.js';
import type { WindowBinding, WindowResults } from './window-results.js';
import type { WindowSpec } from './window-spec.js';

/** What {@link WindowPartitions} needs from its windowed table. @internal */
export interface WindowPartitionsHost<K, A> {
  readonly name: string;
  readonly logger: Logger;
  readonly table: Table<K, KeyWindows<A, unknown>>;
  readonly window: WindowSpec;
  readonly graceMs: number;
  readonly idleAfterMs: number;
  readonly results: Pick<WindowResults<K, A>, 'emit'>;
  transport(): Promise<Transport>;
  binding(): WindowBinding<K, A> | undefined;
}

/** A window's removal and an expiry wait for the record cache's next flush: nothing commits by them. */
const LINGERS = { lingers: true } as const;

/**
 * The partitions of a windowed table owned on this worker: each one's watermark (set up from the
 * restored changelog), which keys have a window closing (or events expiring) when, closing by the
 * durable watermark and by the wall clock (an idle partition), and a window's removal once its final
 * result settled.
 * @internal
 */
export class WindowPartitions<K, A> {
  readonly #parts = new Map<number, WindowPartition<K, A>>();
  readonly #idle: IdleCloser<WindowPartition<K, A>>;

  constructor(private readonly host: WindowPartitionsHost<K, A>) {
    this.#idle = new IdleCloser<WindowPartition<K, A>>({
      name: host.name,
      logger: host.logger,
      idleAfterMs: host.idleAfterMs,
      binding: () => host.binding(),
      owns: (part) => this.#parts.get(part.partition) === part,
      transport: () => host.transport(),
      writeWatermark: (part, watermark, then) => rewriteWatermark(host.table, part, watermark, then),
      closeDue: (part) => this.closeDue(part),
    });
  }

  /** The partitions set up here. */
  values(): IterableIterator<WindowPartition<K, A>> {
    return this.#parts.values();
  }

  /** The partition, if it is set up here (owned and restored). */
  get(partition: number): WindowPartition<K, A> | undefined {
    return this.#parts.get(partition);
  }

  /** The partitions moved away: their results and watermarks are the new owner's. */
  revoked(partitions: readonly number[]): void {
    for (const partition of partitions) this.#parts.delete(partition);
  }

  /** The subscription ended: its timers are gone. */
  stop(): void {
    this.#idle.stop();
  }

  /** Looks at the partition by the wall clock when its first due window could close. */
  arm(part: WindowPartition<K, A>): void {
    this.#idle.arm(part);
  }

  /** Results go to the binding now current: those not settled yet again, and windows due close. */
  serve(): void {
    for (const part of this.#parts.values()) {
      for (const result of part.results.values()) if (!result.handled) this.host.results.emit(result);
      part.probing = false; // the last subscription's timers are gone
      this.closeDue(part);
      this.#idle.arm(part);
    }
  }

  /** The partition's window state, set up (from the restored table) the first time it is ready. */
  part(partition: number): WindowPartition<K, A> | undefined {
    const { table } = this.host;
    if (!table.isReady(partition)) return undefined;
    let part = this.#parts.get(partition);
    if (part) return part;
    part = new WindowPartition<K, A>(partition, this.host.graceMs, this.now());
    const restored = Number(table.restoredHeaders(partition)?.[WATERMARK_HEADER]);
    if (Number.isFinite(restored)) part.restore(restored, this.now());
    this.#parts.set(partition, part);
    eachKey(table, partition, (key, state) => this.#scheduleKey(part, key, state));
    this.closeDue(part);
    this.#idle.arm(part);
    return part;
  }

  /** Notes when the key's first window closes (or its events expire), and arms the idle closer. */
  #scheduleKey(part: WindowPartition<K, A>, key: K, state: KeyWindows<A, unknown> | undefined): void {
    if (!state) return;
    const keyId = this.host.table.keyId(key);
    const first = state.w[0];
    const at = first ? first[1] : expiresAt(state, this.host.window);
    if (at === undefined) return;
    part.schedule(at, keyId, key);
    this.#idle.arm(part);
  }

  /** Emits the final result of every window the durable watermark has passed; expires old events. */
  closeDue(part: WindowPartition<K, A>): void {
    if (!this.host.binding()) return; // closed when a subscription is back
    const upTo = part.durable;
    const due = part.takeDue(upTo);
    if (due === undefined) return; // nothing due (most calls: one per change acknowledged)
    for (const [keyId, key] of due) {
      const state = this.host.table.get(key);
      if (!state) continue;
      for (const [start, end, value] of state.w) {
        if (end > upTo) break; // windows are ordered by end
        const id = resultId(keyId, start, end);
        if (part.results.has(id)) continue;
        const result: PendingResult<K, A> = {
          partition: part.partition,
          key,
          keyId,
          id,
          start,
          end,
          value,
          attempts: 0,
          firstFailedAt: undefined,
          handled: false,
          lineage: undefined,
        };
        part.results.set(id, result);
        this.host.results.emit(result);
      }
      const open = state.w.find(([, end]) => end > upTo);
      if (open) part.schedule(open[1], keyId, key);
      else if (state.w.length === 0) this.#expire(part, key, state, upTo);
    }
  }

  /** A key with no window left keeps events only while a new window may need them. */
  #expire(part: WindowPartition<K, A>, key: K, state: KeyWindows<A, unknown>, upTo: number): void {
    const kept = prune(state, this.host.window, upTo);
    // What is kept expires after upTo (prune keeps exactly the events a later window may need).
    if (kept && kept.ev?.length === state.ev?.length) return this.#scheduleKey(part, key, kept);
    this.host.table.put(
      part.partition,
      key,
      kept,
      watermarkHeaders(part.watermark),
      (durable) => {
        if (durable && kept) this.#scheduleKey(part, key, kept);
      },
      LINGERS,
    );
  }

  /** Deletes a window whose final result was settled (or dead-lettered). */
  remove(result: PendingResult<K, A>): void {
    const { table } = this.host;
    const part = this.#parts.get(result.partition);
    const id = result.id;
    if (!part || part.results.get(id) !== result) return; // the partition moved away meanwhile
    result.handled = true;
    let state: KeyWindows<A, unknown> | undefined;
    try {
      state = table.get(result.key);
    } catch {
      part.results.delete(id);
      return;
    }
    const next = removeWindow(state, this.host.window, result.start, result.end, part.durable);
    table.put(
      part.partition,
      result.key,
      next,
      watermarkHeaders(part.watermark),
      (durable) => {
        if (part.results.get(id) === result) part.results.delete(id);
        if (durable && next && next.w.length === 0) this.#scheduleKey(part, result.key, next);
      },
      LINGERS,
    );
  }

  /** The binding's clock (the scheduler's, under test), or the wall clock. */
  now(): number {
    return this.host.binding()?.scheduler.now() ?? Date.now();
  }
}
