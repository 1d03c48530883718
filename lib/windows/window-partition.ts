import { MinHeap } from './min-heap.js';

/** A final result handed downstream and not yet settled (or whose tombstone is not yet durable). @internal */
export interface PendingResult<K, A> {
  readonly partition: number;
  readonly key: K;
  readonly keyId: string;
  /** Its id in {@link EventTimePartition.results} (see {@link resultId}). */
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly value: A;
  /** Attempts made (a sink's own retries count), for the retry budget. */
  attempts: number;
  firstFailedAt: number | undefined;
  /** Settled or dead-lettered: its window is being removed. */
  handled: boolean;
  /** The lineage of its latest emit (an older one's outcome is ignored). */
  lineage: unknown;
}

/**
 * One partition of event-time state on this worker (a windowed table's, a stream join's): its watermark
 * and which keys have something (a window, expiring events or records) due at which time. The watermark is the highest event time applied minus the grace,
 * or the floor the changelog carries (restored, or advanced by the wall clock while the partition was
 * idle), whichever is higher. Windows close only up to the highest watermark a durable changelog record
 * carries, so a final result is never emitted from state a crash could undo.
 * @internal
 */
export class EventTimePartition<K, R> {
  /** Highest event time applied (or restored: the restored watermark plus the grace). */
  maxTime = Number.NEGATIVE_INFINITY;
  /** Wall-clock time `maxTime` was reached. */
  maxTimeAt: number;
  /** The watermark restored from the changelog, or advanced while idle (always durable). */
  floor = Number.NEGATIVE_INFINITY;
  /** The highest watermark carried by a changelog record the broker acknowledged. */
  durable = Number.NEGATIVE_INFINITY;
  /** Wall-clock time the last record arrived. */
  lastRecordAt: number;
  /** Next offset after the highest record seen. */
  nextOffset = 0;
  /** An idle check or a watermark write is under way. */
  probing = false;
  /** Results emitted and not yet removed, by id (a window's: `keyId|start|end`). */
  readonly results = new Map<string, R>();
  readonly #due = new MinHeap();
  readonly #keysAt = new Map<number, Map<string, K>>();

  constructor(
    readonly partition: number,
    protected readonly grace: number,
    now: number,
  ) {
    this.lastRecordAt = now;
    this.maxTimeAt = now;
  }

  /** Event time moves on with the highest event time seen. */
  observe(t: number, now: number): void {
    if (t <= this.maxTime) return;
    this.maxTime = t;
    this.maxTimeAt = now;
  }

  /** The watermark restored from the changelog: event time resumes from it. */
  restore(watermark: number, now: number): void {
    this.floor = this.durable = watermark;
    this.maxTime = watermark + this.grace;
    this.maxTimeAt = now;
  }

  /**
   * The watermark of an idle partition at wall-clock time `now`: event time is taken to have moved on
   * with the wall clock since the highest event time was seen (minus the grace). For live data (event
   * time near the wall clock) that is now minus the grace; a replay of old data is not judged by
   * today's clock.
   */
  idleWatermark(now: number): number {
    return this.maxTime + (now - this.maxTimeAt) - this.grace;
  }

  /** Wall-clock time at which {@link idleWatermark} reaches `time`. */
  wallTimeOf(time: number): number {
    return this.maxTimeAt + (time + this.grace - this.maxTime);
  }

  /** The watermark now (it may not be durable yet). */
  get watermark(): number {
    return Math.max(this.maxTime - this.grace, this.floor);
  }

  /** The earliest time something is due, if anything is. */
  get nextDue(): number | undefined {
    return this.#due.peek();
  }

  /** Windows (or keys whose events expire) due so far, for tests and stats. */
  get dueTimes(): number {
    return this.#due.size;
  }

  /** `key` has a window ending (or events expiring) at `time`: look at it then. */
  schedule(time: number, keyId: string, key: K): void {
    let keys = this.#keysAt.get(time);
    if (!keys) {
      keys = new Map();
      this.#keysAt.set(time, keys);
      this.#due.push(time);
    }
    keys.set(keyId, key);
  }

  /** One key due at the earliest time, left in place. */
  firstDue(): K | undefined {
    const time = this.#due.peek();
    if (time === undefined) return undefined;
    for (const key of this.#keysAt.get(time)?.values() ?? []) return key;
    return undefined;
  }

  /**
   * The keys with something due at or before `upTo` (each once), forgotten here; undefined when
   * nothing is due (most calls: one per change acknowledged), so that no map is made then.
   */
  takeDue(upTo: number): ReadonlyMap<string, K> | undefined {
    let keys: Map<string, K> | undefined;
    for (let time = this.#due.peek(); time !== undefined && time <= upTo; time = this.#due.peek()) {
      this.#due.pop();
      keys ??= new Map<string, K>();
      for (const [keyId, key] of this.#keysAt.get(time) ?? []) keys.set(keyId, key);
      this.#keysAt.delete(time);
    }
    return keys;
  }
}

/** One partition of a windowed table on this worker, its final results pending by `keyId|start|end`. @internal */
export class WindowPartition<K, A> extends EventTimePartition<K, PendingResult<K, A>> {}

/** The id of a key's window in {@link WindowPartition.results}. @internal */
export function resultId(keyId: string, start: number, end: number): string {
  return `${keyId}|${start}|${end}`;
}
