import { isAccepted } from '../core/ack.js';
import type { Codec } from '../codecs/codec.js';
import type { CommitHold } from '../agent/partition-tracker.js';
import type { Lineage } from '../core/lineage.js';
import type { Message } from '../core/message.js';
import type { ChangelogWrite } from './changelog-writer.js';
import type { HopOrigin } from './origin-offsets.js';

/** What {@link Table.apply} reports for one message. @internal */
export type ApplyOutcome<K, V> =
  | { readonly kind: 'done'; readonly key: K; readonly value: V; readonly replayed: boolean }
  | { readonly kind: 'failed'; readonly error: unknown }
  /** The partition is not (or no longer) this worker's: the record is someone else's now. */
  | { readonly kind: 'dropped' };

/**
 * Receives {@link ApplyOutcome}s, with the message they are for (one function can serve every message).
 * @internal
 */
export type ApplyCallback<K, V> = (outcome: ApplyOutcome<K, V>, message: Message<unknown, unknown>) => void;

/** The outcome of a change that will never be durable here (shared: outcomes are read, never changed). @internal */
export const DROPPED: ApplyOutcome<never, never> = Object.freeze({ kind: 'dropped' });

/** A key's newest value while some of its changes are not in the store yet. @internal */
export interface PendingValue<V> {
  value: V;
  /** Changes of this key not yet in the store. */
  writes: number;
}

/** The partition a change was made in, as its changelog record needs it. @internal */
export interface WriteOrigin<V> {
  /** The partition as a header value. */
  readonly text: string;
  /** The applied offsets as of `write` (those of later changes left out), encoded for `rivulet-applied`. */
  appliedAsOf(write: TableWrite<V>): string;
  /** The applied origin offsets as of `write`, for `rivulet-applied-origins` (undefined: no copy applied here). */
  originsAsOf(write: TableWrite<V>): string | undefined;
}

/**
 * One change of a table on its way to the changelog, and who waits for it: one object per change,
 * carrying everything needed once the broker acknowledges it (no closure per change).
 * @internal
 */
export abstract class TableWrite<V = unknown> implements ChangelogWrite {
  /** Headers of its own for the changelog record (set as it is queued). */
  extra: Readonly<Record<string, string>> | undefined = undefined;
  /**
   * The partition object it was made in (set as it is queued): not the partition's current one, which
   * after a quick revoke and reassign is another whose applied offsets this change must not claim.
   */
  origin: WriteOrigin<V> | undefined = undefined;
  /** Acknowledged or given up. */
  done = false;
  /** The key's overlay entry (set when staged). */
  pending: PendingValue<V> | undefined = undefined;
  /** Where the source record was copied from, when it came through a repartition hop. */
  hop: HopOrigin | undefined = undefined;
  /** Others waiting for this change (a redelivered record), rarely any. */
  waiters: ((durable: boolean) => void)[] | undefined = undefined;
  /**
   * A number kept with the change (`ApplyOptions.note`): its record's headers are made from it.
   * Undefined when none (a number field would box a double in every change).
   */
  note: number | undefined = undefined;
  /** Told first once the change is durable or never will be, with its note (`ApplyOptions.durable`). */
  onDurable: ((durable: boolean, note: number | undefined) => void) | undefined = undefined;
  /** Nobody waits for it soon: it may wait for more changes to share its produce. */
  readonly lingers: boolean = false;
  /** The changelog record's value (null: a tombstone). */
  abstract readonly value: Buffer | null;

  constructor(
    readonly key: Buffer,
    /** The key as a map key (latin1 of its bytes). */
    readonly keyId: string,
    /** The source record it was made for; a negative id for a change no record made. */
    readonly sourceOffset: number,
    /** The attempt of the source record that made it. */
    readonly lineage: Lineage | undefined,
  ) {}

  abstract wanted(): boolean;

  /** The broker acknowledged the change (`true`), or never will (`false`): tells who waits, once. */
  finish(durable: boolean): void {
    if (this.done) return;
    this.done = true;
    this.onDurable?.(durable, this.note);
    this.settled(durable);
    const waiters = this.waiters;
    if (waiters) for (const then of waiters) then(durable);
  }

  protected abstract settled(durable: boolean): void;
}

/** The change a source record made (`Table.apply`). @internal */
export class RecordWrite<K, V> extends TableWrite<V> {
  constructor(
    key: Buffer,
    readonly value: Buffer | null,
    keyId: string,
    sourceOffset: number,
    lineage: Lineage | undefined,
    readonly message: Message<unknown, unknown>,
    readonly tableKey: K,
    readonly newValue: V,
    readonly then: ApplyCallback<K, V>,
  ) {
    super(key, keyId, sourceOffset, lineage);
  }

  wanted(): boolean {
    return isAccepted(this.message);
  }

  protected settled(durable: boolean): void {
    this.then(
      durable ? { kind: 'done', key: this.tableKey, value: this.newValue, replayed: false } : DROPPED,
      this.message,
    );
  }
}

/**
 * The change a source record made whose message moved on at once (`updateTable`): it keeps no message,
 * only the hold that keeps its source offset from being committed, released once the change is durable.
 * Never acknowledged (the partition moved away, the app closed), the hold stays: the offset is not
 * committed here, and the record is delivered again. Its value may be encoded only when first read
 * (`TableCodecs.encodesLater`): a change the record cache replaces by a later one is never encoded.
 * @internal
 */
export class HeldWrite<V> extends TableWrite<V> {
  override readonly lingers = true;
  #bytes: Buffer | undefined;
  /** The value left to encode (undefined once encoded). */
  #later: V | undefined;

  constructor(
    key: Buffer,
    /** The value's bytes, or undefined: `newValue` is encoded with `codec` when first read. */
    bytes: Buffer | undefined,
    newValue: V,
    readonly codec: Codec<V>,
    keyId: string,
    sourceOffset: number,
    /** The agent that holds the offset, and its hold. */
    readonly holder: { releaseCommit?(hold: CommitHold): void },
    readonly hold: CommitHold,
  ) {
    super(key, keyId, sourceOffset, undefined);
    this.#bytes = bytes;
    this.#later = bytes === undefined ? newValue : undefined;
  }

  get value(): Buffer {
    let bytes = this.#bytes;
    if (bytes === undefined) {
      bytes = this.#bytes = this.codec.encode(this.#later as V);
      this.#later = undefined;
    }
    return bytes;
  }

  /** Its agent waits for it until the partition moves away (then the writer gives it up). */
  wanted(): boolean {
    return true;
  }

  protected settled(durable: boolean): void {
    if (durable) this.holder.releaseCommit?.(this.hold);
  }
}

/** A change no source record made (`Table.put`): its id is negative. @internal */
export class DirectWrite<V> extends TableWrite<V> {
  constructor(
    key: Buffer,
    readonly value: Buffer | null,
    keyId: string,
    id: number,
    readonly isWanted: () => boolean,
    readonly then: (durable: boolean) => void,
    /** Nobody waits for it soon (a closed window's removal): it may wait for the next flush. */
    override readonly lingers: boolean = false,
  ) {
    super(key, keyId, id, undefined);
  }

  wanted(): boolean {
    return this.isWanted();
  }

  protected settled(durable: boolean): void {
    this.then(durable);
  }
}
