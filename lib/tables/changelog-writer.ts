import { type SchedulerLike, Subscription, asyncScheduler, defer } from 'rxjs';
import type { Backoff } from '../core/error-policy.js';
import { RivuletError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retryWithBackoff } from '../core/retry.js';
import { MAX_BATCH_BYTES, cutBatch } from './changelog-batch.js';
import type { RecordMetadata } from '../transports/transport.js';

/** One change to write, and what to do once the broker has it (or never will). @internal */
export interface ChangelogWrite {
  readonly key: Buffer;
  readonly value: Buffer | null;
  /** Headers of its own (the host may add others), counted in a produce's size. */
  readonly extra?: Readonly<Record<string, string>> | undefined;
  /** The key as a string (latin1 of its bytes), when the caller has it: spares converting it again. */
  readonly keyId?: string;
  /** False once nobody waits for the write any more (its agent stopped): it is not retried. */
  wanted(): boolean;
  /** Nobody waits for it soon: its produce may linger (`lingerMs`) for more changes to join it. */
  readonly lingers?: boolean;
}

/** What a {@link ChangelogWriter} needs. @internal */
export interface ChangelogWriterHost {
  readonly topic: string;
  readonly logger: Logger;
  /**
   * Produces `writes` (the records kept of a batch, in order) to the changelog partition: the host
   * makes their records, so that headers are built only for what is produced. Called again on a retry.
   */
  produce(partition: number, writes: readonly ChangelogWrite[]): Promise<RecordMetadata[]>;
  /**
   * The broker acknowledged `writes` (in order), of which `produced` are the records it holds (the last
   * write of each key); `end` is the changelog offset after the last one.
   */
  acked(
    partition: number,
    writes: readonly ChangelogWrite[],
    produced: readonly ChangelogWrite[],
    end: number,
  ): void;
  /** `writes` were given up (nobody wanted them any more, or the partition was abandoned). */
  abandoned(partition: number, writes: readonly ChangelogWrite[]): void;
}

/** Options of a {@link ChangelogWriter}. @internal */
export interface ChangelogWriterOptions {
  /** Most records in one produce (default 1000): records produced, after keeping the last write of each key. */
  readonly maxBatchSize?: number;
  /**
   * How long a produce of lingering writes only waits for more writes to join it, in ms (default 0:
   * none). A key changed again meanwhile is written once.
   */
  readonly lingerMs?: number;
  /** Delay between attempts while the broker refuses the writes (default 100 ms doubling to 5 s). */
  readonly backoff?: Backoff;
  readonly scheduler?: SchedulerLike;
}

interface PartitionQueue {
  queue: ChangelogWrite[];
  inFlight: Subscription | undefined;
  /** A pump is due at the end of the current task (the writes made meanwhile join its produce). */
  due: boolean;
  /** A pump is due once the linger is over (only lingering writes are queued). */
  lingering: Subscription | undefined;
  /** Writes queued that do not linger. */
  urgent: number;
  idle: (() => void)[];
  /**
   * A batch was given up (nobody waited for it): every later write of the partition is given up too.
   * Later changes were made on top of it (their values and applied offsets include it), so producing
   * one would make the changelog claim a change it never got.
   */
  broken: boolean;
}

class NobodyWaitsError extends RivuletError {
  override readonly retriable = false;
}

/**
 * Writes a table's changes to its changelog: per partition one produce in flight, the changes arriving
 * meanwhile gathered into the next one (as sinks batch), in order. A produce starts in a microtask,
 * not on the first write, so the changes made for one fetch (handed over synchronously) go out
 * together rather than the first alone. A failed produce is the broker's outage, not bad input: it is
 * retried with backoff for as long as someone waits for the writes, never failing the messages. A
 * batch nobody waits for any more (its agent stopped) is given up, and with it every later write of
 * the partition until the partition is abandoned (revoked): those build on it, and would make the
 * changelog claim its offsets applied without its changes. Acknowledged writes are reported in the
 * order they were queued.
 * @internal
 */
export class ChangelogWriter {
  readonly #partitions = new Map<number, PartitionQueue>();
  readonly #maxBatchSize: number;
  readonly #lingerMs: number;
  readonly #backoff: Backoff;
  readonly #scheduler: SchedulerLike;
  #failures = 0;

  constructor(
    private readonly host: ChangelogWriterHost,
    options: ChangelogWriterOptions = {},
  ) {
    this.#maxBatchSize = Math.max(1, options.maxBatchSize ?? 1000);
    this.#lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.#backoff = options.backoff ?? { initialDelayMs: 100, maxDelayMs: 5000 };
    this.#scheduler = options.scheduler ?? asyncScheduler;
  }

  /** Produce attempts that failed so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Writes queued or in flight for a partition. */
  pending(partition: number): number {
    const state = this.#partitions.get(partition);
    if (!state) return 0;
    return state.queue.length + (state.inFlight ? 1 : 0);
  }

  write(partition: number, write: ChangelogWrite): void {
    let state = this.#partitions.get(partition);
    if (!state) {
      state = {
        queue: [],
        inFlight: undefined,
        due: false,
        lingering: undefined,
        urgent: 0,
        idle: [],
        broken: false,
      };
      this.#partitions.set(partition, state);
    }
    state.queue.push(write);
    if (!this.#lingers(write)) state.urgent++;
    if (state.inFlight) return;
    this.#schedule(partition, state);
  }

  #lingers(write: ChangelogWrite): boolean {
    return write.lingers === true && this.#lingerMs > 0;
  }

  /** Arranges the next produce of a partition with nothing in flight: in a microtask, or after the linger. */
  #schedule(partition: number, state: PartitionQueue): void {
    if (state.due) return;
    if (state.urgent === 0) {
      state.lingering ??= this.#scheduler.schedule(() => {
        state.lingering = undefined;
        this.#pump(partition, state);
      }, this.#lingerMs);
      return;
    }
    state.lingering?.unsubscribe();
    state.lingering = undefined;
    state.due = true;
    queueMicrotask(() => {
      state.due = false;
      this.#pump(partition, state);
    });
  }

  /** Resolves when nothing is queued or in flight for the partition. */
  drained(partition: number): Promise<void> {
    const state = this.#partitions.get(partition);
    if (!state || (state.queue.length === 0 && !state.inFlight)) return Promise.resolve();
    return new Promise((resolve) => state.idle.push(resolve));
  }

  /** Gives up the partition's writes: the one in flight is no longer retried, queued ones are dropped. */
  abandon(partition: number): void {
    const state = this.#partitions.get(partition);
    if (!state) return;
    this.#partitions.delete(partition);
    state.inFlight?.unsubscribe();
    state.lingering?.unsubscribe();
    if (state.queue.length > 0) this.host.abandoned(partition, state.queue);
    for (const resolve of state.idle) resolve();
  }

  /** Abandons everything. */
  close(): void {
    for (const partition of [...this.#partitions.keys()]) this.abandon(partition);
  }

  #pump(partition: number, state: PartitionQueue): void {
    if (state.inFlight || this.#partitions.get(partition) !== state) return;
    if (state.broken && state.queue.length > 0) {
      state.urgent = 0;
      this.host.abandoned(partition, state.queue.splice(0));
    }
    if (state.queue.length === 0) {
      const idle = state.idle;
      state.idle = [];
      for (const resolve of idle) resolve();
      return;
    }
    const { take, records: kept } = cutBatch(state.queue, this.#maxBatchSize, MAX_BATCH_BYTES);
    const batch = state.queue.splice(0, take);
    if (state.urgent > 0) for (const write of batch) if (!this.#lingers(write)) state.urgent--;
    const done = (): void => {
      state.inFlight = undefined;
      // what came meanwhile goes now, unless all of it may linger
      if (state.urgent > 0 || state.queue.length === 0 || this.#partitions.get(partition) !== state)
        this.#pump(partition, state);
      else this.#schedule(partition, state);
    };
    let finished = false;
    const subscription = defer(() => {
      if (!batch.some((write) => write.wanted())) throw new NobodyWaitsError('abandoned');
      return this.host.produce(partition, kept);
    })
      .pipe(
        retryWithBackoff(
          {
            retries: Number.POSITIVE_INFINITY,
            backoff: this.#backoff,
            retriable: (error) => {
              if (error instanceof NobodyWaitsError) return false;
              this.#failures++;
              this.host.logger.warn(
                { changelog: this.host.topic, partition, records: batch.length, err: error },
                'writing to the changelog failed; retrying',
              );
              return true;
            },
          },
          this.#scheduler,
        ),
      )
      .subscribe({
        next: (metadata) => {
          finished = true;
          const last = metadata[metadata.length - 1];
          this.host.acked(partition, batch, kept, (last?.offset ?? -1) + 1);
          done();
        },
        error: () => {
          finished = true;
          state.broken = true; // nobody waits: the agent stopped, and the partition goes with it
          this.host.abandoned(partition, batch);
          done();
        },
      });
    if (!finished) state.inFlight = subscription;
  }
}
