import { PartitionReadAbortedError, PartitionReadRangeError } from './partition-read-errors.js';
import type {
  PartitionRange,
  ReadPartitionsHandlers,
  ReadPartitionsResult,
  ReadProgress,
  ReadStall,
  TransportRecord,
} from './transport.js';

/** Where a partition starts and ends, as the broker sees it. @internal */
export interface PartitionBounds {
  readonly partition: number;
  /** The first offset still stored (0 unless retention deleted the start). */
  readonly low: number;
  /** The end offset: the offset the next produced record gets. */
  readonly high: number;
}

interface Reading {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
  position: number;
}

const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * The bookkeeping of one `readPartitions` call, shared by the transports: checks the ranges against
 * the partitions' bounds, keeps each partition's position, hands over only records in range and not
 * seen before, reports progress, calls `onStall` when nothing moved for `stallTimeoutMs`, and settles
 * `finished` when every partition reached its end (or rejects it on abort or failure).
 * @internal Used by the transports' `readPartitions`.
 */
export class PartitionReadTracker {
  /** Resolves when every partition is done; rejects on abort or {@link fail}. */
  readonly finished: Promise<ReadPartitionsResult>;
  readonly #readings = new Map<number, Reading>();
  readonly #toRead: number;
  readonly #started = Date.now();
  readonly #stallTimeoutMs: number;
  readonly #onAbort: () => void;
  #read = 0;
  #inBatch = false;
  #lastProgress = Date.now();
  #stallTimer: NodeJS.Timeout | undefined;
  #settled = false;
  #resolve!: (result: ReadPartitionsResult) => void;
  #reject!: (error: Error) => void;

  constructor(
    readonly topic: string,
    ranges: readonly PartitionRange[],
    bounds: readonly PartitionBounds[],
    private readonly handlers: ReadPartitionsHandlers,
    /** Called on a stall when the handlers have no `onStall`. */
    defaultOnStall: (stall: ReadStall) => void = () => {},
  ) {
    this.finished = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.finished.catch(() => undefined);
    const byPartition = new Map(bounds.map((bound) => [bound.partition, bound]));
    let toRead = 0;
    for (const { partition, from, to } of ranges) {
      const bound = byPartition.get(partition);
      if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || from > to)
        throw new PartitionReadRangeError(topic, partition, `invalid range [${from}, ${to})`);
      if (!bound) throw new PartitionReadRangeError(topic, partition, 'the topic has no such partition');
      if (to > bound.high)
        throw new PartitionReadRangeError(topic, partition, `${to} is past the end offset ${bound.high}`);
      if (this.#readings.has(partition))
        throw new PartitionReadRangeError(topic, partition, 'the partition is asked for twice');
      toRead += to - from;
      // Records below `low` are gone (retention): the read starts at the first one left.
      if (from < bound.low && from < to) handlers.onTruncated?.(partition, bound.low);
      this.#readings.set(partition, {
        partition,
        from,
        to,
        position: Math.min(to, Math.max(from, bound.low)),
      });
    }
    this.#toRead = toRead;
    this.#stallTimeoutMs = handlers.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    const onStall = handlers.onStall ?? defaultOnStall;
    if (this.pending().length > 0 && this.#stallTimeoutMs > 0 && Number.isFinite(this.#stallTimeoutMs)) {
      this.#stallTimer = setTimeout(() => {
        if (this.#settled) return;
        onStall(this.#stall());
        this.#stallTimer?.refresh();
      }, this.#stallTimeoutMs);
      this.#stallTimer.unref();
    }
    this.#onAbort = () => this.fail(new PartitionReadAbortedError(topic, { cause: handlers.signal?.reason }));
    if (handlers.signal?.aborted) this.#onAbort();
    else handlers.signal?.addEventListener('abort', this.#onAbort, { once: true });
    handlers.onProgress?.(this.progress());
    this.#settleIfDone();
  }

  /** Whether the read is over (done, aborted or failed). */
  get settled(): boolean {
    return this.#settled;
  }

  /** The partitions still to read, with where to read next. */
  pending(): readonly { readonly partition: number; readonly position: number; readonly to: number }[] {
    return [...this.#readings.values()]
      .filter((reading) => reading.position < reading.to)
      .map(({ partition, position, to }) => ({ partition, position, to }));
  }

  /** Whether a partition was requested and is not done yet. */
  wants(partition: number): boolean {
    const reading = this.#readings.get(partition);
    return reading !== undefined && reading.position < reading.to;
  }

  /** The next offset to read of a requested partition. */
  position(partition: number): number | undefined {
    return this.#readings.get(partition)?.position;
  }

  /**
   * Hands the records of a partition that are in range and past its position to `onBatch` (awaited),
   * then moves the position past them. Records the transport fetched twice are skipped.
   */
  async deliver(partition: number, records: readonly TransportRecord[]): Promise<void> {
    const reading = this.#readings.get(partition);
    if (!reading || this.#settled || reading.position >= reading.to) return;
    const { position, to } = reading;
    let first = 0;
    while (first < records.length && records[first]!.offset < position) first++;
    let end = first;
    while (end < records.length && records[end]!.offset < to) end++;
    if (first === end) return;
    const batch = first === 0 && end === records.length ? records : records.slice(first, end);
    this.#inBatch = true;
    try {
      await this.handlers.onBatch({ topic: this.topic, partition, records: batch });
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      this.#inBatch = false;
    }
    if (this.#settled) return;
    this.#read += batch.length;
    this.advance(partition, batch[batch.length - 1]!.offset + 1);
  }

  /**
   * Moves a partition's position to `next` (the offset after the last one fetched), when the broker
   * shows offsets hold no records for this reader (compacted away, transaction markers).
   */
  advance(partition: number, next: number): void {
    const reading = this.#readings.get(partition);
    if (!reading || this.#settled || next <= reading.position) return;
    reading.position = Math.min(next, reading.to);
    this.#lastProgress = Date.now();
    this.#stallTimer?.refresh();
    this.handlers.onProgress?.(this.progress());
    this.#settleIfDone();
  }

  progress(): ReadProgress {
    let remaining = 0;
    let partitionsDone = 0;
    for (const { position, to } of this.#readings.values()) {
      remaining += to - position;
      if (position >= to) partitionsDone++;
    }
    return {
      topic: this.topic,
      read: this.#read,
      toRead: this.#toRead,
      remaining,
      partitionsDone,
      partitions: this.#readings.size,
    };
  }

  /** Ends the read with an error (the transport's consumer crashed, `onBatch` threw, abort). */
  fail(error: Error): void {
    if (this.#settled) return;
    this.#close();
    this.#reject(error);
  }

  #settleIfDone(): void {
    if (this.#settled || this.pending().length > 0) return;
    this.#close();
    this.#resolve({ topic: this.topic, read: this.#read, durationMs: Date.now() - this.#started });
  }

  #close(): void {
    this.#settled = true;
    clearTimeout(this.#stallTimer);
    this.handlers.signal?.removeEventListener('abort', this.#onAbort);
  }

  #stall(): ReadStall {
    return {
      topic: this.topic,
      idleMs: Date.now() - this.#lastProgress,
      waitingFor: this.#inBatch ? 'onBatch' : 'broker',
      pending: this.pending(),
    };
  }
}
