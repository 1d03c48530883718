import { type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import { RebalanceInProgressError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type {
  TopicPartition,
  TopicPartitionOffset,
  TransportConsumer,
  TransportRecord,
} from '../transports/transport.js';
import type { Decoded } from './decode-record.js';
import { type CommitHold, type Entry, PartitionTracker } from './partition-tracker.js';

/** How a {@link Ledger} bounds and commits. @internal */
export interface LedgerOptions {
  /** Agent name, for logs. */
  readonly agent: string;
  readonly logger: Logger;
  /** Most records received but not yet committable. */
  readonly maxInFlight: number;
  /** Least time between two commits, in ms. */
  readonly commitIntervalMs: number;
  /** Called when a partition's settled prefix advanced (the test harness reports it). */
  readonly onAdvance?: (tracker: PartitionTracker) => void;
  /** Called after offsets were committed (tables forget what they no longer need to deduplicate). */
  readonly onCommitted?: (offsets: readonly TopicPartitionOffset[]) => void;
  readonly scheduler?: SchedulerLike;
}

/**
 * Offsets held from commit (settled records whose changes are not durable yet) per `maxInFlight`: a
 * hold keeps an offset, not a record, so a longer changelog linger need not crowd the in-flight bound;
 * this bounds what an outage of the changelog lets pile up. A change waits up to the commit interval
 * (100 ms by default) in the record cache: at 200,000 records/s that is 20,000 holds and more, so 8
 * per place (20,000 at the default 2,500) paused a fast table agent until each flush (BENCHMARKS,
 * "Kafka Streams side by side"); 32 per place is 80,000 holds, 17 MiB at the most for a counting
 * table (`npm run bench:held-memory`: ~225 bytes a held change, its write and its hold).
 */
const HOLDS_PER_IN_FLIGHT = 32;

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * The single source of truth of an agent's records between arrival and commit: one tracker per
 * partition, the counts (received, settled, in flight, window), assignment and revocation, the in-flight
 * bound (intake waits for room; the partitions are paused meanwhile) and commit scheduling (coalesced,
 * one in flight, only the contiguous settled prefix of each partition).
 * @internal
 */
export class Ledger {
  readonly #trackers = new Map<string, PartitionTracker>();
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #ready = new Map<string, Promise<void>>();
  /** Partitions taken away and not given back: a stale batch of one of them is refused. */
  readonly #revoked = new Set<string>();
  readonly #resumeBelow: number;
  readonly #scheduler: SchedulerLike;
  #consumer: TransportConsumer | undefined;
  #waiting: (() => void)[] = [];
  #held = false;
  #closed = false;
  #commitTimer: Subscription | undefined;
  #committing: Promise<void> | undefined;
  // Sums over the trackers, kept as counters because the per-record path reads them.
  #window = 0;
  #unsettled = 0;
  #received = 0;
  #settled = 0;
  #holds = 0;
  #pauses = 0;

  constructor(private readonly options: LedgerOptions) {
    this.#resumeBelow = Math.max(1, Math.floor(options.maxInFlight * 0.75));
    this.#scheduler = options.scheduler ?? asyncScheduler;
  }

  /** The consumer whose partitions are paused, resumed and committed. */
  attach(consumer: TransportConsumer): void {
    this.#consumer = consumer;
    if (this.#behind()) this.#scheduleCommit(); // records may have settled before consume() resolved
  }

  get received(): number {
    return this.#received;
  }
  get settled(): number {
    return this.#settled;
  }
  /** Records received and not settled. */
  get unsettled(): number {
    return this.#unsettled;
  }
  /** Records received and not yet committable (what `maxInFlight` bounds). */
  get window(): number {
    return this.#window;
  }
  /** Offsets held from commit after their records settled (their changes not durable yet). */
  get holds(): number {
    return this.#holds;
  }
  /** Times intake waited for room or for a held agent. */
  get pauses(): number {
    return this.#pauses;
  }

  trackers(): IterableIterator<PartitionTracker> {
    return this.#trackers.values();
  }

  tracker(tp: TopicPartition): PartitionTracker {
    const id = key(tp);
    let tracker = this.#trackers.get(id);
    if (!tracker) {
      tracker = new PartitionTracker(tp.topic, tp.partition);
      this.#trackers.set(id, tracker);
    }
    return tracker;
  }

  /** Every unsettled record, partition by partition, oldest first. */
  *unsettledEntries(): IterableIterator<Entry> {
    for (const tracker of this.#trackers.values()) yield* tracker.unsettledEntries();
  }

  /** Registers a newly received record. */
  admit(
    tracker: PartitionTracker,
    record: TransportRecord,
    now: number,
    decoded?: Decoded<unknown, unknown>,
  ): Entry {
    this.#window++;
    this.#unsettled++;
    this.#received++;
    return tracker.add(record, now, decoded);
  }

  /** Settles a record; false when it no longer counts (already settled, or its partition was revoked). */
  settle(entry: Entry): boolean {
    const tracker = entry.tracker;
    if (tracker.revoked || entry.settled) return false;
    const left = tracker.settle(entry);
    this.#unsettled--;
    this.#settled++;
    if (left > 0) {
      this.#window -= left;
      this.options.onAdvance?.(tracker);
      this.#scheduleCommit();
      if (this.#waiting.length > 0 && this.#hasRoom()) this.#wake();
    }
    return true;
  }

  /**
   * Keeps `entry`'s offset from being committed until {@link releaseCommit} (a change it made is durable):
   * the record may settle meanwhile, and its message and place in `maxInFlight` go. Undefined when its
   * partition was revoked (nothing of it is committed here any more).
   */
  holdCommit(entry: Entry): CommitHold | undefined {
    const tracker = entry.tracker;
    if (tracker.revoked) return undefined;
    this.#holds++;
    return tracker.hold(entry);
  }

  /** Lets the offset of `hold` be committed. */
  releaseCommit(hold: CommitHold): void {
    const tracker = hold.tracker;
    if (tracker.revoked) {
      hold.released = true; // counted off at the revocation
      return;
    }
    if (!tracker.release(hold)) return;
    this.#holds--;
    this.#scheduleCommit();
    if (this.#waiting.length > 0 && this.#hasRoom()) this.#wake();
  }

  /** Whether intake may admit another record now. */
  get open(): boolean {
    return this.#closed || this.#hasRoom();
  }

  /** Waits until there is room (and the agent is not held); pauses the partitions meanwhile. */
  waitForRoom(): Promise<void> {
    if (this.open) return Promise.resolve();
    this.#pauses++;
    this.#consumer?.pause([...this.#assigned.values()]);
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Holds intake whatever the room (a sink is down), or lets it go again. */
  hold(held: boolean): void {
    this.#held = held;
    if (!held && this.#hasRoom()) this.#wake();
  }

  /** Stops admitting for good (the agent stops): wakes waiting intake so it can return. */
  close(): void {
    this.#closed = true;
    this.#consumer?.pause([...this.#assigned.values()]);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  /** Partitions given to the agent; `ready` resolves when their state is restored (tables). */
  assign(partitions: readonly TopicPartition[], ready?: Promise<void>): void {
    for (const tp of partitions) {
      this.#assigned.set(key(tp), tp);
      this.#revoked.delete(key(tp));
      if (ready) this.#ready.set(key(tp), ready);
      else this.#ready.delete(key(tp));
    }
  }

  /** The partitions the agent holds now. */
  assigned(): TopicPartition[] {
    return [...this.#assigned.values()];
  }

  /** Whether `tp` was taken away (and not given back since): its records are not ours to process. */
  isRevoked(tp: TopicPartition): boolean {
    return this.#revoked.has(key(tp));
  }

  /** Resolves when records of `tp` may be processed (its state restored). */
  whenReady(tp: TopicPartition): Promise<void> | undefined {
    return this.#ready.get(key(tp));
  }

  /** Commits what is settled of `partitions`, then forgets them: later settlements do not count. */
  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    await this.#committing;
    await this.#commit(partitions);
    for (const tp of partitions) {
      const id = key(tp);
      this.#assigned.delete(id);
      this.#ready.delete(id);
      this.#revoked.add(id);
      const tracker = this.#trackers.get(id);
      if (!tracker) continue;
      tracker.revoked = true;
      this.#trackers.delete(id);
      this.#window -= tracker.window;
      this.#unsettled -= tracker.unsettled;
      this.#holds -= tracker.held;
    }
    if (this.#hasRoom()) this.#wake();
  }

  /** Commits at once (after the commit in flight, if any) instead of at the next interval. */
  commitNow(): Promise<void> {
    this.#commitTimer?.unsubscribe();
    this.#commitTimer = undefined;
    return this.#committing ? this.#committing.then(() => this.#commit()) : this.#commit();
  }

  /** Final commit at stop: no more scheduled commits afterwards. */
  async flush(): Promise<void> {
    this.#commitTimer?.unsubscribe();
    this.#commitTimer = undefined;
    await this.#committing;
    await this.#commit();
  }

  #hasRoom(): boolean {
    const { maxInFlight } = this.options;
    const waiting = this.#waiting.length > 0;
    return (
      !this.#held &&
      this.#window < (waiting ? this.#resumeBelow : maxInFlight) &&
      this.#holds < (waiting ? this.#resumeBelow : maxInFlight) * HOLDS_PER_IN_FLIGHT
    );
  }

  /** Resumes every batch waiting for room (several when the transport delivers partitions concurrently). */
  #wake(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    if (!this.#closed) this.#consumer?.resume([...this.#assigned.values()]);
    for (const resolve of waiting) resolve();
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined || this.#committing !== undefined || !this.#consumer) return;
    this.#commitTimer = this.#scheduler.schedule(() => {
      this.#commitTimer = undefined;
      void this.#commit();
    }, this.options.commitIntervalMs);
  }

  /** Commits the settled prefix of every partition (or of the given ones) that advanced. */
  #commit(only?: readonly TopicPartition[]): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || this.#committing) return this.#committing ?? Promise.resolve();
    const offsets: TopicPartitionOffset[] = [];
    const trackers: PartitionTracker[] = [];
    for (const tracker of this.#trackers.values()) {
      if (only && !only.some((tp) => tp.topic === tracker.topic && tp.partition === tracker.partition))
        continue;
      const offset = tracker.committable;
      if (tracker.revoked || offset === undefined || offset <= tracker.committed) continue;
      offsets.push({ topic: tracker.topic, partition: tracker.partition, offset });
      trackers.push(tracker);
    }
    if (offsets.length === 0) return Promise.resolve();
    this.#committing = consumer
      .commit(offsets)
      .then(
        () => {
          trackers.forEach(
            (tracker, i) => (tracker.committed = Math.max(tracker.committed, offsets[i]!.offset)),
          );
          this.options.onCommitted?.(offsets);
        },
        (error: unknown) => {
          const level = error instanceof RebalanceInProgressError ? 'debug' : 'warn';
          this.options.logger[level]({ agent: this.options.agent, err: error }, 'commit failed; will retry');
        },
      )
      .finally(() => {
        this.#committing = undefined;
        if (!this.#closed && this.#behind()) this.#scheduleCommit();
      });
    return this.#committing;
  }

  #behind(): boolean {
    for (const tracker of this.#trackers.values()) {
      const offset = tracker.committable;
      if (!tracker.revoked && offset !== undefined && offset > tracker.committed) return true;
    }
    return false;
  }
}
