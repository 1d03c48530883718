import type { Logger } from '../core/logger.js';
import type { MessageHeaders } from '../core/message.js';
import { AppliedOffsets } from './applied-offsets.js';
import type { ChangelogWrite } from './changelog-writer.js';
import type { TableStore } from './stores/table-store.js';

/** A change queued for the changelog, with what the table needs once it is acknowledged. @internal */
export interface TableWrite extends ChangelogWrite {
  /** The key as a map key (latin1 of its bytes). */
  readonly keyId: string;
  /** The source record it was made for. */
  readonly sourceOffset: number;
}

interface Pending<V> {
  value: V;
  /** Changes of this key not yet in the store. */
  writes: number;
}

/** Where a partition of a table is: replaying its changelog, or serving and taking updates. @internal */
export type PartitionState = 'recovering' | 'ready';

/**
 * One partition of a table on this worker: the store's keyspace, an overlay of the values whose
 * changelog write is in flight (later records see earlier results at once), and the source offsets
 * applied above the committed offset. A change reaches the store only once the broker acknowledged it.
 * @internal
 */
export class TablePartition<V> {
  state: PartitionState = 'recovering';
  applied = new AppliedOffsets();
  /** Recovery progress while recovering. */
  read = 0;
  toRead = 0;
  /** Headers of the changelog's last record, as the last restore read them (undefined: none read). */
  restoredHeaders: MessageHeaders | undefined;
  readonly #overlay = new Map<string, Pending<V>>();
  /** Source offsets applied whose write is not acknowledged yet, with who waits for it. */
  readonly #unacked = new Map<number, ((durable: boolean) => void)[]>();
  #storeWrites: Promise<void> = Promise.resolve();
  #localOffset = 0;

  constructor(
    readonly partition: number,
    private readonly store: TableStore,
    private readonly logger: Logger,
  ) {}

  /** The value of a key: the newest pending change, else the store's bytes decoded. */
  lookup(keyId: string, key: Buffer, decode: (bytes: Buffer) => V): V | undefined {
    const pending = this.#overlay.get(keyId);
    if (pending) return pending.value;
    const bytes = this.store.get(this.partition, key);
    return bytes === undefined ? undefined : decode(bytes);
  }

  /** Changes waiting for the broker. */
  get pendingWrites(): number {
    return this.#unacked.size;
  }

  /** Holds a change made for the source record at `offset` until acknowledged (the caller queues its write). */
  stage(keyId: string, value: V, offset: number): void {
    const pending = this.#overlay.get(keyId);
    if (pending) {
      pending.value = value;
      pending.writes++;
    } else this.#overlay.set(keyId, { value, writes: 1 });
    this.#unacked.set(offset, []);
  }

  /** Calls `then(true)` once the change for `offset` is acknowledged (now if it is), `then(false)` if it never will be. */
  onDurable(offset: number, then: (durable: boolean) => void): void {
    const waiting = this.#unacked.get(offset);
    if (waiting) waiting.push(then);
    else then(true);
  }

  /** The broker acknowledged `writes`; `end` is the changelog offset after them. */
  acked(writes: readonly TableWrite[], end: number): void {
    this.#settle(writes, true);
    const changes = writes.map((write) => ({ key: write.key, value: write.value }));
    this.#storeWrites = this.#storeWrites
      .then(() => this.store.apply(this.partition, changes, end))
      .then(
        () => this.#release(writes),
        (error: unknown) =>
          this.logger.error(
            { partition: this.partition, err: error },
            'a table store refused acknowledged changes; the table serves them from memory',
          ),
      );
  }

  /** A change with no changelog (a table under test): acknowledged at once. */
  ackedLocally(write: TableWrite): void {
    this.acked([write], ++this.#localOffset);
  }

  /** `writes` will never be acknowledged (their agent stopped, or the partition moved away). */
  abandoned(writes: readonly TableWrite[]): void {
    this.#settle(writes, false);
  }

  /** Resolves when every acknowledged change is in the store. */
  stored(): Promise<void> {
    return this.#storeWrites;
  }

  #settle(writes: readonly TableWrite[], durable: boolean): void {
    for (const write of writes) {
      const waiting = this.#unacked.get(write.sourceOffset);
      this.#unacked.delete(write.sourceOffset);
      for (const then of waiting ?? []) then(durable);
    }
  }

  #release(writes: readonly TableWrite[]): void {
    for (const write of writes) {
      const pending = this.#overlay.get(write.keyId);
      if (pending && --pending.writes <= 0) this.#overlay.delete(write.keyId);
    }
  }
}
