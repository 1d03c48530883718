import type { Lineage } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import type { MessageHeaders } from '../core/message.js';
import { AppliedOffsets } from './applied-offsets.js';
import { type HopOrigin, OriginOffsets } from './origin-offsets.js';
import type { TableStore } from './stores/table-store.js';
import type { PendingValue, TableWrite, WriteOrigin } from './table-write.js';

export type { TableWrite } from './table-write.js';

/** Where a partition of a table is: replaying its changelog, or serving and taking updates. @internal */
export type PartitionState = 'recovering' | 'ready';

/** Settled entries at the head of the queue of changes before it is compacted. */
const COMPACT_AT = 1024;

/**
 * One partition of a table on this worker: the store's keyspace, an overlay of the values whose
 * changelog write is in flight (later records see earlier results at once), and the source offsets
 * applied above the committed offset. A change reaches the store only once the broker acknowledged it.
 *
 * Changes wait in one queue, in the order they were made (the order the changelog writer acknowledges
 * them): each change carries who waits for it, so acknowledging a batch costs nothing per offset.
 * @internal
 */
export class TablePartition<V> implements WriteOrigin<V> {
  state: PartitionState = 'recovering';
  applied = new AppliedOffsets();
  /** The origin offsets applied, per origin partition, of records that came through a repartition hop. */
  origins: OriginOffsets | undefined;
  /** Recovery progress while recovering. */
  read = 0;
  toRead = 0;
  /** Headers of the changelog's last record, as the last restore read them (undefined: none read). */
  restoredHeaders: MessageHeaders | undefined;
  /** The partition as a header value. */
  readonly text: string;
  readonly #overlay = new Map<string, PendingValue<V>>();
  /** Changes made here in order; those before `#head` are settled. */
  #queue: TableWrite<V>[] = [];
  #head = 0;
  #unsettled = 0;
  /** Attempts of source records that changed the table, still under way, whose changes settled or keep no lineage (to tell a fan-out copy). */
  #live: Lineage[] = [];
  #liveLimit = COMPACT_AT;
  #storeWrites: Promise<void> = Promise.resolve();
  #localOffset = 0;

  constructor(
    readonly partition: number,
    private readonly store: TableStore,
    private readonly logger: Logger,
  ) {
    this.text = String(partition);
  }

  /** The value of a key: the newest pending change, else the store's bytes decoded. */
  lookup(keyId: string, key: Buffer, decode: (bytes: Buffer) => V): V | undefined {
    const pending = this.#overlay.get(keyId);
    if (pending) return pending.value;
    const bytes = this.store.get(this.partition, key);
    return bytes === undefined ? undefined : decode(bytes);
  }

  /** Changes waiting for the broker. */
  get pendingWrites(): number {
    return this.#unsettled;
  }

  /** Holds `write`, whose key's value is now `value`, until acknowledged (the caller queues it). */
  stage(write: TableWrite<V>, value: V): void {
    let pending = this.#overlay.get(write.keyId);
    if (pending) {
      pending.value = value;
      pending.writes++;
    } else {
      pending = { value, writes: 1 };
      this.#overlay.set(write.keyId, pending);
    }
    write.pending = pending;
    this.#queue.push(write);
    this.#unsettled++;
  }

  /** Calls `then(true)` once the change for `offset` is acknowledged (now if it is), `then(false)` if it never will be. */
  onDurable(offset: number, then: (durable: boolean) => void): void {
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      const write = queue[i]!;
      if (!write.done && write.sourceOffset === offset) {
        (write.waiters ??= []).push(then);
        return;
      }
    }
    then(true);
  }

  /** Calls `then(true)` once the change for a copy of `hop`'s record is acknowledged (now if it is), `then(false)` if it never will be. */
  onDurableHop(hop: HopOrigin, then: (durable: boolean) => void): void {
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      const write = queue[i]!;
      const made = write.hop;
      if (!write.done && made !== undefined && made.offset === hop.offset && made.id === hop.id) {
        (write.waiters ??= []).push(then);
        return;
      }
    }
    then(true);
  }

  /** The origin offsets of this partition, made with the first copy that reaches it. */
  originOffsets(): OriginOffsets {
    return (this.origins ??= new OriginOffsets());
  }

  /** Whether this attempt of a record (`lineage`) changed the table already (a fan-out copy). */
  appliedBy(lineage: Lineage): boolean {
    if (lineage.done) return false;
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) if (queue[i]!.lineage === lineage) return true;
    return this.#live.includes(lineage);
  }

  /** `lineage`'s attempt changed the table with a write that does not keep it ({@link appliedBy} still tells). */
  appliedNow(lineage: Lineage): void {
    this.#live.push(lineage);
    this.#compactLive();
  }

  /**
   * The applied offsets as `write` was made: those applied now but for the offsets of the changes
   * made after it (all still queued: changes are acknowledged in order). A record retried later can be
   * applied after higher offsets, so its offset must not show in the headers of an earlier change.
   */
  appliedAsOf(write: TableWrite<V>): string {
    const later: number[] = [];
    const queue = this.#queue;
    for (let i = queue.length - 1; i >= this.#head; i--) {
      const next = queue[i]!;
      if (next === write) break;
      if (next.sourceOffset >= 0) later.push(next.sourceOffset);
    }
    return this.applied.encodeWithout(later);
  }

  /** {@link appliedAsOf} for the origin offsets of copies (undefined when no copy was applied here). */
  originsAsOf(write: TableWrite<V>): string | undefined {
    const origins = this.origins;
    if (origins === undefined) return undefined;
    const later: HopOrigin[] = [];
    const queue = this.#queue;
    for (let i = queue.length - 1; i >= this.#head; i--) {
      const next = queue[i]!;
      if (next === write) break;
      if (next.hop !== undefined) later.push(next.hop);
    }
    return origins.encodeWithout(later);
  }

  /**
   * The broker acknowledged `writes` (in the order they were made); `end` is the changelog offset after
   * them. `stored`, what the store gets, is the last change of each key among them, in order: the
   * changelog writer produced exactly those (a single write, or writes of distinct keys, are their own).
   */
  acked(writes: readonly TableWrite<V>[], end: number, stored: readonly TableWrite<V>[] = writes): void {
    this.#storeWrites = this.#storeWrites
      .then(() => this.store.apply(this.partition, stored, end))
      .then(
        () => this.#release(writes),
        (error: unknown) =>
          this.logger.error(
            { partition: this.partition, err: error },
            'a table store refused acknowledged changes; the table serves them from memory',
          ),
      );
    this.#settle(writes, true);
  }

  /** A change with no changelog (a table under test): acknowledged at once. */
  ackedLocally(write: TableWrite<V>): void {
    this.acked([write], ++this.#localOffset);
  }

  /** `writes` will never be acknowledged (their agent stopped, or the partition moved away). */
  abandoned(writes: readonly TableWrite<V>[]): void {
    this.#settle(writes, false);
  }

  /** Resolves when every acknowledged change is in the store. */
  stored(): Promise<void> {
    return this.#storeWrites;
  }

  #settle(writes: readonly TableWrite<V>[], durable: boolean): void {
    for (const write of writes) {
      if (write.done) continue;
      this.#unsettled--;
      write.finish(durable);
      if (write.lineage !== undefined && !write.lineage.done) this.#live.push(write.lineage);
    }
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length && queue[head]!.done) head++;
    if (head >= COMPACT_AT && head * 2 >= queue.length) {
      this.#queue = queue.slice(head);
      head = 0;
    }
    this.#head = head;
    this.#compactLive();
  }

  #compactLive(): void {
    if (this.#live.length > this.#liveLimit) {
      this.#live = this.#live.filter((lineage) => !lineage.done);
      this.#liveLimit = Math.max(COMPACT_AT, this.#live.length * 2);
    }
  }

  #release(writes: readonly TableWrite<V>[]): void {
    for (const write of writes) {
      const pending = write.pending!;
      if (--pending.writes <= 0 && this.#overlay.get(write.keyId) === pending)
        this.#overlay.delete(write.keyId);
    }
  }
}
