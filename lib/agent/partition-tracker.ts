import type { TransportRecord } from '../transports/transport.js';
import type { Message } from '../core/message.js';

/** One consumed record, from its arrival until it is settled. @internal */
export class Entry {
  settled = false;
  /** Processing attempts so far (retries re-run the pipeline for the record). */
  attempt = 1;

  constructor(
    readonly tracker: PartitionTracker,
    readonly record: TransportRecord,
    readonly receivedAt: number,
    /** The decoded message, kept for retries; undefined when decoding failed. */
    public message: Message<unknown, unknown> | undefined,
  ) {}

  get offset(): number {
    return this.record.offset;
  }
}

/**
 * Tracks the records of one partition between arrival and commit, and computes the offset that may be
 * committed: the lowest unsettled offset, or the offset after the last record when all are settled.
 * Records arrive in offset order (gaps allowed, as after compaction); settling is in any order and O(1)
 * amortized.
 * @internal
 */
export class PartitionTracker {
  #entries: Entry[] = [];
  #head = 0;
  #next = -1;
  #unsettled = 0;
  /** The last offset committed for this partition, or -1. */
  committed = -1;
  /** The partition was taken away: settlements no longer count and nothing more is committed. */
  revoked = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Registers a newly received record. */
  add(record: TransportRecord, now: number, message: Message<unknown, unknown> | undefined): Entry {
    const entry = new Entry(this, record, now, message);
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
    entry.message = undefined;
    this.#unsettled--;
    const entries = this.#entries;
    const start = this.#head;
    let head = start;
    while (head < entries.length && entries[head]!.settled) head++;
    this.#head = head;
    if (head > 1024 && head * 2 > entries.length) {
      this.#entries = entries.slice(head);
      this.#head = 0;
    }
    return head - start;
  }

  /** The offset to commit: everything below it is settled. Undefined before the first record. */
  get committable(): number | undefined {
    const oldest = this.#entries[this.#head];
    if (oldest) return oldest.offset;
    return this.#next >= 0 ? this.#next : undefined;
  }

  /** Records received but not yet committable (the window). */
  get window(): number {
    return this.#entries.length - this.#head;
  }

  /** Records received and not settled. */
  get unsettled(): number {
    return this.#unsettled;
  }

  /** The oldest unsettled record. */
  get oldest(): Entry | undefined {
    return this.#entries[this.#head];
  }
}
