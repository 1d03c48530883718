import type { Lineage } from '../core/lineage.js';
import type { TransportRecord } from '../transports/transport.js';
import type { Decoded } from './decode-record.js';

/**
 * Where a record is between arrival and settlement: in the pipeline (or waiting to be handed to a
 * restarted one), waiting for a retry, held while its sink is down, being dead-lettered, or left for
 * redelivery because the agent stopped. @internal
 */
export type EntryStage = 'processing' | 'retrying' | 'held' | 'dead-lettering' | 'abandoned';

/**
 * A settled record's bytes were asked for: nothing reads a record once it settled (its entry lets go of
 * it, see {@link Entry.record}), so this is a bug in rivulet. @internal
 */
export class ReleasedRecordError extends Error {
  override readonly name = 'ReleasedRecordError';

  constructor(topic: string, partition: number, offset: number) {
    super(`${topic}[${partition}]@${offset} was read after it settled`);
  }
}

/** One consumed record, from its arrival until it is settled. @internal */
export class Entry {
  settled = false;
  stage: EntryStage = 'processing';
  /** Attempts used from the record's retry budget (a sink's in-place retries count too). */
  attempts = 0;
  /** When the record first failed (ms since the epoch), for telling an outage from a bad record. */
  firstFailedAt: number | undefined;
  /** The current attempt's lineage; held weakly once a DropDetector watches it. */
  #lineage: Lineage | WeakRef<Lineage> | undefined;
  /** The record until it settles (see {@link Entry.release}). */
  #record: TransportRecord | undefined;
  readonly offset: number;

  constructor(
    readonly tracker: PartitionTracker,
    record: TransportRecord,
    readonly receivedAt: number,
    /** The decoded key and value, kept to hand the record over again; undefined when decoding failed. */
    public decoded: Decoded<unknown, unknown> | undefined,
  ) {
    this.#record = record;
    this.offset = record.offset;
  }

  /** The record as it was received, to hand over again or dead-letter; gone once it settled. */
  get record(): TransportRecord {
    const record = this.#record;
    if (record === undefined)
      throw new ReleasedRecordError(this.tracker.topic, this.tracker.partition, this.offset);
    return record;
  }

  /**
   * Lets go of the record and its decoded form once it settled. Its key and value are views on the whole
   * fetch response they came in: an entry that outlives its settlement (a message or lineage still
   * referenced somewhere, or garbage V8 has moved to its old generation) must not keep that response
   * alive, nor young objects it points to (a dead old object still holds them through scavenges).
   */
  release(): void {
    this.#record = undefined;
    this.decoded = undefined;
  }

  /** The lineage of the current attempt (while anything can still settle it); failures of older attempts are ignored. */
  get lineage(): Lineage | undefined {
    const lineage = this.#lineage;
    return lineage instanceof WeakRef ? lineage.deref() : lineage;
  }

  set lineage(lineage: Lineage | undefined) {
    this.#lineage = lineage;
  }

  /**
   * Holds the current lineage weakly: then only the pipeline's messages (and operators holding its
   * references) keep it alive, and one collected unsettled was dropped (see DropDetector).
   */
  holdLineageWeakly(): void {
    const lineage = this.#lineage;
    if (lineage !== undefined && !(lineage instanceof WeakRef)) this.#lineage = new WeakRef(lineage);
  }

  /** Whether the current attempt's lineage, held weakly, is gone. */
  get lineageLost(): boolean {
    const lineage = this.#lineage;
    return lineage instanceof WeakRef && lineage.deref() === undefined;
  }
}

/**
 * A record's offset kept from being committed after the record settled: a change it made is not durable
 * yet (a table's changelog write). Only the offset is kept, not the record. @internal
 */
export class CommitHold {
  released = false;
  constructor(
    readonly tracker: PartitionTracker,
    readonly offset: number,
  ) {}
}

/**
 * Tracks the records of one partition between arrival and commit, and computes the offset that may be
 * committed: the lowest offset unsettled or held ({@link CommitHold}), or the offset after the last
 * record when none is. Records arrive in offset order (gaps allowed, as after compaction); settling is
 * in any order and O(1) amortized; holds are cheapest released in the order they were taken.
 * @internal
 */
export class PartitionTracker {
  /** Received records from the oldest one not yet committable (at `#head`); slots before it are emptied. */
  #entries: (Entry | undefined)[] = [];
  #head = 0;
  #next = -1;
  #unsettled = 0;
  /** Holds in the order taken; those before `#holdHead` are released. */
  #holds: CommitHold[] = [];
  #holdHead = 0;
  #held = 0;
  /** Every hold was taken at an offset at or above the one before (the head's is the lowest held). */
  #ascending = true;
  /** The last offset committed for this partition, or -1. */
  committed = -1;
  /** The partition was taken away: settlements no longer count and nothing more is committed. */
  revoked = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Registers a newly received record. */
  add(record: TransportRecord, now: number, decoded?: Decoded<unknown, unknown>): Entry {
    const entry = new Entry(this, record, now, decoded);
    this.#entries.push(entry);
    this.#next = record.offset + 1;
    this.#unsettled++;
    return entry;
  }

  /**
   * Marks a record settled. Returns how many records left the window (became committable), which is
   * 0 unless the record was the oldest unsettled one.
   */
  settle(entry: Entry): number {
    if (entry.settled) return 0;
    entry.settled = true;
    entry.release();
    this.#unsettled--;
    const entries = this.#entries;
    const start = this.#head;
    let head = start;
    // A settled record below the head is let go at once: its key and value are views on the fetch
    // response they came in, and a settled record kept in this array (up to the next compaction)
    // would keep the whole response alive, long enough for V8 to move it to the old generation.
    while (head < entries.length && entries[head]!.settled) entries[head++] = undefined;
    this.#head = head;
    if (head > 1024 && head * 2 > entries.length) {
      this.#entries = entries.slice(head);
      this.#head = 0;
    }
    return head - start;
  }

  /** Keeps `entry`'s offset from being committed, settled or not, until the hold is released. */
  hold(entry: Entry): CommitHold {
    const hold = new CommitHold(this, entry.offset);
    const holds = this.#holds;
    if (holds.length > 0 && hold.offset < holds[holds.length - 1]!.offset) this.#ascending = false;
    holds.push(hold);
    this.#held++;
    return hold;
  }

  /** Releases `hold`; false when it was released already. */
  release(hold: CommitHold): boolean {
    if (hold.released) return false;
    hold.released = true;
    this.#held--;
    const holds = this.#holds;
    let head = this.#holdHead;
    while (head < holds.length && holds[head]!.released) head++;
    if (head === holds.length) {
      this.#holds = [];
      this.#ascending = true;
      head = 0;
    } else if (head > 1024 && head * 2 > holds.length) {
      this.#holds = holds.slice(head);
      head = 0;
    }
    this.#holdHead = head;
    return true;
  }

  /** Holds not released. */
  get held(): number {
    return this.#held;
  }

  /** The offset to commit: everything below it is settled and released. Undefined before the first record. */
  get committable(): number | undefined {
    const oldest = this.#entries[this.#head];
    const settled = oldest ? oldest.offset : this.#next >= 0 ? this.#next : undefined;
    if (this.#held === 0 || settled === undefined) return settled;
    return Math.min(settled, this.#lowestHeld());
  }

  #lowestHeld(): number {
    const holds = this.#holds;
    if (this.#ascending) return holds[this.#holdHead]!.offset;
    let lowest = Number.POSITIVE_INFINITY;
    for (let i = this.#holdHead; i < holds.length; i++) {
      const hold = holds[i]!;
      if (!hold.released && hold.offset < lowest) lowest = hold.offset;
    }
    return lowest;
  }

  /** Records received but not yet committable (the window). */
  get window(): number {
    return this.#entries.length - this.#head;
  }

  /** Records received and not settled. */
  get unsettled(): number {
    return this.#unsettled;
  }

  /** The unsettled records, oldest first. */
  *unsettledEntries(): IterableIterator<Entry> {
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) if (!entries[i]!.settled) yield entries[i]!;
  }

  /** The oldest unsettled record. */
  get oldest(): Entry | undefined {
    return this.#entries[this.#head];
  }
}
