import { type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import type { Logger } from '../core/logger.js';
import { PartitionReadAbortedError } from '../transports/partition-read-errors.js';
import type { PartitionRange } from '../transports/transport.js';
import { applyChangelogRecords } from './changelog-apply.js';
import type { RestoreContext } from './table-recovery.js';
import type { TableStore } from './stores/table-store.js';
import type { TableStandbyStats } from './table-types.js';

/** What {@link StandbyReplicas} works with. @internal */
export interface StandbyContext {
  readonly table: string;
  readonly changelog: string;
  readonly reader: RestoreContext['reader'];
  /** The table's store: a standby copy lives in the keyspace of its partition, with its checkpoint. */
  readonly store: TableStore;
  readonly logger: Logger;
  /** Pause between two catch-up rounds, in ms. */
  readonly pollMs: number;
  readonly scheduler?: SchedulerLike;
}

/** One followed partition. */
interface Standby {
  readonly partition: number;
  /** The changelog's end offset at the last round. */
  end: number;
  /** Times the copy was dropped as untrustworthy (ahead of the changelog, or truncated by retention). */
  resets: number;
}

/**
 * Warm copies of the partitions of a table this worker does not own (Kafka Streams' standby replicas):
 * each is kept in the table's store, in its partition's keyspace, and brought up to the changelog's end
 * in rounds (end offsets, then a read of what is new), `pollMs` apart. When the partition is assigned
 * here, the table's restore starts from the copy's checkpoint and replays only the tail; exactness does
 * not rest on the copy, since the restore reads from its checkpoint to the end like any other and
 * rebuilds the applied source offsets from the changelog's last record (which it reads even when the
 * copy is up to date), so a copy needs no bookkeeping of its own beyond the store's checkpoint.
 *
 * A copy whose checkpoint is past the changelog's end (the topic was recreated, or truncated), or below
 * what retention left of it, is dropped and rebuilt from the start. Failures of a round are logged and
 * the next round tries again: a standby is an optimisation, never a reason to stop.
 * @internal
 */
export class StandbyReplicas {
  readonly #followed = new Map<number, Standby>();
  readonly #scheduler: SchedulerLike;
  /** Partitions the running round reads, and how to stop it. */
  #reading = new Set<number>();
  #abort: AbortController | undefined;
  /** The store change running now (awaited before a partition is handed to a restore). */
  #applying: Promise<void> = Promise.resolve();
  /** Ends the pause between rounds (at close). */
  #wake: (() => void) | undefined;
  #running = false;
  #failures = 0;
  #closed = false;

  constructor(private readonly context: StandbyContext) {
    this.#scheduler = context.scheduler ?? asyncScheduler;
  }

  /**
   * Follows `partitions` from the next round on (their copies start from the store's checkpoint, if
   * any); the first call starts the rounds, with one at once.
   */
  follow(partitions: readonly number[]): void {
    if (this.#closed) return;
    for (const partition of partitions)
      if (!this.#followed.has(partition)) this.#followed.set(partition, { partition, end: 0, resets: 0 });
    if (!this.#running) {
      this.#running = true;
      void this.#run();
    }
  }

  /**
   * Stops following `partitions` (assigned here: a restore takes them over), and resolves once no
   * change of the standby can reach their keyspace any more.
   */
  async release(partitions: readonly number[]): Promise<void> {
    let reading = false;
    for (const partition of partitions) {
      if (this.#followed.delete(partition) && this.#reading.has(partition)) reading = true;
    }
    if (reading) this.#abort?.abort();
    await this.#applying;
  }

  /** The followed partitions, ascending. */
  stats(): TableStandbyStats[] {
    const { store } = this.context;
    return [...this.#followed.values()]
      .sort((a, b) => a.partition - b.partition)
      .map(({ partition, end, resets }) => {
        const position = store.checkpoint(partition) ?? 0;
        return { partition, keys: store.size(partition), position, lag: Math.max(0, end - position), resets };
      });
  }

  /**
   * Stops following anything; resolves once the store is no longer written (a round waiting on the
   * broker is not waited for: whatever it gets later changes nothing).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#followed.clear();
    this.#abort?.abort();
    this.#wake?.();
    await this.#applying;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#followed.size > 0) {
        try {
          await this.#round();
          this.#failures = 0;
        } catch (error) {
          if (!(error instanceof PartitionReadAbortedError) && !this.#closed) this.#failed(error);
        } finally {
          this.#abort = undefined;
          this.#reading = new Set();
        }
      }
      if (!this.#closed) await this.#sleep();
    }
  }

  /** Brings every followed partition to the changelog's end offset as of now. */
  async #round(): Promise<void> {
    const { reader, changelog, store } = this.context;
    const ends = new Map((await reader.endOffsets(changelog)).map((e) => [e.partition, e.offset]));
    const ranges: PartitionRange[] = [];
    for (const standby of this.#followed.values()) {
      const end = ends.get(standby.partition) ?? 0;
      standby.end = end;
      const position = store.checkpoint(standby.partition) ?? 0;
      if (position > end) {
        await this.#change(standby, () => this.#reset(standby, { position, end }));
        if (end > 0) ranges.push({ partition: standby.partition, from: 0, to: end });
      } else if (position < end) ranges.push({ partition: standby.partition, from: position, to: end });
    }
    const wanted = ranges.filter((range) => this.#followed.has(range.partition));
    if (wanted.length === 0 || this.#closed) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#reading = new Set(wanted.map((range) => range.partition));
    const truncated = new Map<number, number>();
    await reader.readPartitions(changelog, wanted, {
      signal: abort.signal,
      stallTimeoutMs: Infinity, // a standby waits for nobody: no stall to report
      onTruncated: (partition, low) => truncated.set(partition, low),
      onBatch: ({ partition, records }) => {
        const standby = this.#followed.get(partition);
        if (!standby) return;
        return this.#change(standby, async () => {
          const low = truncated.get(partition);
          truncated.delete(partition);
          if (low !== undefined) await this.#dropTruncated(standby, low);
          // Records below the checkpoint are in the copy already (it was owned here meanwhile).
          await applyChangelogRecords(store, partition, records, store.checkpoint(partition) ?? 0);
        });
      },
    });
    // Every offset of the ranges was read: those that held no record (retention deleted the whole
    // range, or the end of a compacted partition) still move the checkpoint, so the next round does
    // not read them again.
    for (const { partition, to } of wanted) {
      const standby = this.#followed.get(partition);
      if (!standby) continue;
      await this.#change(standby, async () => {
        const low = truncated.get(partition);
        if (low !== undefined) await this.#dropTruncated(standby, low);
        if ((store.checkpoint(partition) ?? -1) < to) await store.apply(partition, [], to);
      });
    }
  }

  /** Retention deleted records below `low` the copy never read (tombstones among them): it goes. */
  async #dropTruncated(standby: Standby, low: number): Promise<void> {
    const position = this.context.store.checkpoint(standby.partition);
    if (position !== undefined) await this.#reset(standby, { position, low });
  }

  /** Runs a change of `standby`'s keyspace, unless the partition was released (now or meanwhile). */
  #change(standby: Standby, change: () => Promise<void>): Promise<void> {
    const run = this.#applying.then(() =>
      this.#followed.get(standby.partition) === standby ? change() : undefined,
    );
    this.#applying = run.catch(() => undefined);
    return run;
  }

  async #reset(standby: Standby, details: Readonly<Record<string, number | undefined>>): Promise<void> {
    standby.resets++;
    this.context.logger.warn(
      { table: this.context.table, partition: standby.partition, ...details },
      'a standby copy is not a prefix of the changelog any more (recreated, truncated or deleted by retention); rebuilding it from the start',
    );
    await this.context.store.dropPartition(standby.partition);
  }

  #failed(error: unknown): void {
    this.#failures++;
    // One line when a streak of failures starts, then one per 60 rounds: the standby tries on quietly.
    if (this.#failures === 1 || this.#failures % 60 === 0)
      this.context.logger.warn(
        { table: this.context.table, err: error, failures: this.#failures },
        'a standby round failed; trying again',
      );
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      let timer: Subscription | undefined = undefined;
      const done = (): void => {
        timer?.unsubscribe();
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      timer = this.#scheduler.schedule(done, this.context.pollMs);
    });
  }
}
