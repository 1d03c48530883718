import { randomUUID } from 'node:crypto';
import { type SchedulerLike, Subscription, asyncScheduler, timer } from 'rxjs';
import type { Logger } from '../core/logger.js';
import { partitionForKey } from '../transports/partitioner.js';
import type { RecordBatch, Transport, TransportConsumer } from '../transports/transport.js';
import type { CopyPositions } from './global-table-positions.js';
import type { StoreChange, TableStore } from './stores/table-store.js';

/** What a {@link GlobalTableTail} works with. @internal */
export interface GlobalTailContext {
  readonly appId: string;
  readonly table: string;
  readonly topic: string;
  readonly logger: Logger;
  readonly store: TableStore;
  /** Where each partition's copy is (placed by the restore; the tail moves them on). */
  readonly positions: CopyPositions;
  /** The topic's partition count (known once restored). */
  partitionCount(): number | undefined;
  readonly scheduler?: SchedulerLike;
}

/** Delay before a crashed tail consumer is started again, in ms. */
const TAIL_RESTART_MS = 1_000;

/**
 * Follows a global table's topic once it is restored: a consumer of a private group of this worker
 * (`<app id>.global.<name>.<uuid>`, never committing) applies what comes after each partition's
 * position to the store, warns once per partition about a key
 * sent to another partition than its own, and is started again `TAIL_RESTART_MS` after a crash.
 *
 * @example
 * ```ts
 * const tail = new GlobalTableTail({ appId, table, topic, logger, store, positions, partitionCount });
 * await tail.start(transport); // once restored
 * await tail.stop();
 * ```
 * @internal
 */
export class GlobalTableTail {
  #consumer: TransportConsumer | undefined;
  #starting: Promise<void> | undefined;
  #restarts = 0;
  #stopped = false;
  /** The pending restarts after a crash. */
  readonly #timers = new Subscription();
  /** Partitions already warned about for a record whose key hashes to another partition. */
  readonly #misplacedWarned = new Set<number>();

  constructor(private readonly context: GlobalTailContext) {}

  /** Times the consumer crashed and was started again. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts following the topic from each partition's position; resolves once the consumer joined. */
  start(transport: Transport): Promise<void> {
    this.#starting = this.#follow(transport);
    return this.#starting;
  }

  /** Stops following (a restart pending included). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.unsubscribe();
    await this.#starting?.catch(() => undefined);
    await this.#consumer?.stop();
    this.#consumer = undefined;
  }

  async #follow(transport: Transport): Promise<void> {
    if (this.#stopped) return;
    const { appId, table, topic } = this.context;
    const groupId = `${appId}.global.${table}.${randomUUID()}`;
    // A fresh group starts at the earliest offsets: records below the position are skipped.
    this.#consumer = await transport.consume(
      { groupId, topics: [topic], fromBeginning: true },
      {
        onBatch: (batch) => this.#apply(batch),
        onCrash: (error) => this.#onCrash(transport, error),
      },
    );
    if (this.#stopped) await this.#consumer.stop();
  }

  #onCrash(transport: Transport, error: Error): void {
    this.#consumer = undefined;
    if (this.#stopped) return;
    this.#restarts++;
    const { table, topic, logger } = this.context;
    logger.error(
      { err: error, table, topic },
      'the consumer following the global table topic crashed; starting another',
    );
    this.#timers.add(
      timer(TAIL_RESTART_MS, this.context.scheduler ?? asyncScheduler).subscribe(() => {
        this.#starting = this.#follow(transport).catch((failure: unknown) =>
          this.#onCrash(transport, failure instanceof Error ? failure : new Error(String(failure))),
        );
      }),
    );
  }

  async #apply({ partition, records }: RecordBatch): Promise<void> {
    const position = this.context.positions.position(partition);
    if (position === undefined || this.#stopped) return;
    const changes: StoreChange[] = [];
    let next: number | undefined;
    for (const record of records) {
      if (record.offset < position) continue; // applied already (by the restore)
      next = record.offset + 1;
      if (record.key === null) continue; // a table needs a key
      changes.push({ key: record.key, value: record.value });
      this.#checkPlacement(partition, record.key);
    }
    if (next === undefined) return;
    // Not `applyChangelogRecords`: its extra await would let a read see the change before the position.
    await this.context.store.apply(partition, changes, next);
    this.context.positions.applied(partition, next);
  }

  /** Warns once per partition about a key sent to another partition than its own (reads miss it). */
  #checkPlacement(partition: number, key: Buffer): void {
    const count = this.context.partitionCount();
    if (this.#misplacedWarned.has(partition) || count === undefined) return;
    if (partitionForKey(key, count) === partition) return;
    this.#misplacedWarned.add(partition);
    this.context.logger.warn(
      { table: this.context.table, topic: this.context.topic, partition },
      'a record of the global table topic is in another partition than its key hashes to (sent with an explicit partition?): get() looks in the key partition only',
    );
  }
}
