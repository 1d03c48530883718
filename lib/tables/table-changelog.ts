import type { PartitionResource } from '../agent/partition-resources.js';
import { PartitionReadAbortedError } from '../transports/partition-read-errors.js';
import {
  type ProducerRecord,
  type ReadStall,
  type TopicPartition,
  type TopicPartitionOffset,
  type PartitionReader,
  type Transport,
  isPartitionReader,
} from '../transports/transport.js';
import { ConfigurationError } from '../core/errors.js';
import { CHANGELOG_HEADERS } from './changelog-headers.js';
import { withDeadline } from '../core/deadline.js';
import { withRetries } from '../core/retry.js';
import { type ChangelogWrite, ChangelogWriter } from './changelog-writer.js';
import { ChangelogPartitionsMismatchError } from './table-errors.js';
import { TablePartition, type TableWrite } from './table-partition.js';
import { METADATA_RETRY, restorePartitions } from './table-recovery.js';
import { MemoryTableStore } from './stores/memory-table-store.js';
import { StandbyReplicas } from './standby-replicas.js';
import type { TableStandbyStats } from './table-types.js';
import type { TableStore } from './stores/table-store.js';
import type { TableHost } from './table.js';

/** What a {@link TableChangelog} works with. @internal */
export interface TableChangelogOptions {
  readonly table: string;
  readonly topic: string;
  /** The topic of the agent that updates the table. */
  readonly source: string;
  readonly host: TableHost;
  readonly store: TableStore;
  readonly stallTimeoutMs: number | undefined;
  readonly replicationFactor: number | undefined;
  /** Called once a partition is restored and serves (state `ready`). */
  readonly ready?: (partition: number) => void;
  /** Topic settings over the default (`cleanup.policy=compact`), e.g. a retention for windows. */
  readonly topicConfig?: Readonly<Record<string, string>>;
  /** Longest wait for a revoked partition's writes in flight, in ms (default 30 000). */
  readonly revokeTimeoutMs?: number;
  /** Keep standby replicas of the partitions owned elsewhere (see `TableOptions.standbys`). */
  readonly standbys?: number | undefined;
  readonly standbyPollMs?: number | undefined;
  /** How long a produce of changes whose messages moved on waits for more (the agent's commit interval). */
  readonly lingerMs?: number | undefined;
  /** The headers of a change's note (`ApplyOptions.note`), made only for the records produced. */
  readonly noteHeaders?: (note: number) => Readonly<Record<string, string>>;
}

/**
 * A table's life with its agent (the {@link PartitionResource} the agent drives): creates the compacted
 * changelog with the source's partition count and checks co-partitioning on the first assignment,
 * restores assigned partitions before their records flow, writes changes through a
 * {@link ChangelogWriter}, forgets committed offsets, and on revocation waits for the partition's writes
 * in flight (so a new owner never sees a change land after its restore), then lets the partition go.
 * @internal
 */
export class TableChangelog<V> implements PartitionResource {
  readonly name: string;
  /** The table's partitions this worker owns: taken on assignment, restored, let go on revocation. */
  readonly partitions = new Map<number, TablePartition<V>>();
  #partitionCount: number | undefined;
  #prepared: Promise<Transport> | undefined;
  #writer: ChangelogWriter | undefined;
  #restore: AbortController | undefined;
  /** The restore read running now (settles soon after an abort). */
  #reading: Promise<unknown> = Promise.resolve();
  /** Assignments restore one after the other. */
  #restoring: Promise<void> = Promise.resolve();
  #stall: ReadStall | undefined;
  #standby: StandbyReplicas | undefined;
  #closed = false;

  constructor(private readonly options: TableChangelogOptions) {
    this.name = `table ${options.table}`;
  }

  get partitionCount(): number | undefined {
    return this.#partitionCount;
  }

  get stalledMs(): number | undefined {
    return this.#stall?.idleMs;
  }

  get writeFailures(): number {
    return this.#writer?.failures ?? 0;
  }

  async assigned(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.#closed) return;
    // Owned from now on (a revocation arriving while the changelog is prepared takes them away again).
    const owned = this.partitions;
    const { store, host } = this.options;
    for (const { partition } of partitions) {
      if (!owned.has(partition)) owned.set(partition, new TablePartition<V>(partition, store, host.logger));
    }
    this.#prepared ??= this.#prepare();
    const transport = await this.#prepared;
    await this.#standby?.release(partitions.map(({ partition }) => partition)); // the restore takes over
    const restoring = this.#restoring.catch(() => undefined).then(() => this.#restoreRecovering(transport));
    this.#restoring = restoring;
    await restoring;
  }

  async revoked(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.#closed) return;
    const owned = this.partitions;
    const { store } = this.options;
    const gone = partitions.map(({ partition }) => owned.get(partition)).filter((part) => part !== undefined);
    if (gone.length === 0) return;
    for (const part of gone) owned.delete(part.partition);
    if (gone.some((part) => part.state === 'recovering')) {
      this.#restore?.abort();
      await this.#reading.catch(() => undefined); // no restore batch may land after the drop
    }
    await Promise.all(gone.map((part) => this.#release(part, store)));
  }

  committed(offsets: readonly TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets) {
      if (topic !== this.options.source) continue;
      const part = this.partitions.get(partition);
      part?.applied.prune(offset);
      part?.origins?.prune(offset);
    }
  }

  /** The standby replicas kept here, ascending. */
  standbys(): TableStandbyStats[] {
    return this.#standby?.stats() ?? [];
  }

  /**
   * Stops writing and restoring, and lets go of every partition (the app stopped); resolves once the
   * standby replicas no longer write to the store.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#restore?.abort();
    this.#writer?.close();
    this.partitions.clear();
    return this.#standby?.close() ?? Promise.resolve();
  }

  /** Queues a change of `part`; its record will carry `extra` headers (and, if a produce's last, the source ones). */
  write(part: TablePartition<V>, write: TableWrite<V>, extra?: Readonly<Record<string, string>>): void {
    write.extra = extra;
    write.origin = part;
    this.#writer!.write(part.partition, write);
  }

  async #release(part: TablePartition<V>, store: TableStore): Promise<void> {
    const writer = this.#writer;
    if (!writer) return; // revoked before the changelog was ready: nothing was written
    const timeoutMs = this.options.revokeTimeoutMs ?? 30_000;
    const timedOut = await withDeadline(
      writer.drained(part.partition).then(() => false),
      timeoutMs,
      true,
    );
    if (timedOut)
      this.options.host.logger.error(
        { table: this.options.table, partition: part.partition, pending: writer.pending(part.partition) },
        'changelog writes of a revoked partition did not finish in time; giving them up',
      );
    writer.abandon(part.partition);
    await part.stored();
    if (this.#closed || this.partitions.has(part.partition)) return; // stopped, or assigned again
    // The copy, up to date with every change made here, becomes a standby replica. Without standbys, a
    // memory store would only grow with partitions owned elsewhere; a persistent one keeps them, so
    // that getting the partition back replays only what changed meanwhile.
    if (this.#standby) this.#standby.follow([part.partition]);
    else if (store instanceof MemoryTableStore) await store.dropPartition(part.partition);
  }

  async #prepare(): Promise<Transport> {
    const { host, table, topic, source } = this.options;
    const transport = await host.transport();
    if (!isPartitionReader(transport))
      throw new ConfigurationError(
        `Table ${table}: the transport ${transport.description} cannot read partitions (readPartitions)`,
      );
    const sourcePartitions = (await transport.endOffsets(source)).length;
    await transport.ensureTopics([
      {
        name: topic,
        partitions: sourcePartitions,
        ...(this.options.replicationFactor !== undefined
          ? { replicationFactor: this.options.replicationFactor }
          : {}),
        // Compaction keeps the last record of every key, so the last record of a partition (whose
        // headers name the applied source offsets) always survives: no compaction lag is needed.
        config: { 'cleanup.policy': 'compact', ...this.options.topicConfig },
      },
    ]);
    // a topic just created may not answer ListOffsets yet (NOT_LEADER_FOR_PARTITION): retried
    const changelogPartitions = (await withRetries(() => transport.endOffsets(topic), METADATA_RETRY)).length;
    if (changelogPartitions !== sourcePartitions)
      throw new ChangelogPartitionsMismatchError(table, topic, changelogPartitions, source, sourcePartitions);
    this.#partitionCount = sourcePartitions;
    this.#startStandbys(transport, sourcePartitions);
    const lingerMs = this.options.lingerMs;
    this.#writer = new ChangelogWriter(
      {
        topic,
        logger: host.logger,
        produce: (partition, writes) =>
          transport.produce(this.#records(partition, writes as TableWrite<V>[])),
        acked: (partition, writes, produced, end) =>
          this.#owner(partition, writes)?.acked(
            writes as readonly TableWrite<V>[],
            end,
            produced as readonly TableWrite<V>[],
          ),
        abandoned: (partition, writes) =>
          this.#owner(partition, writes)?.abandoned(writes as readonly TableWrite<V>[]),
      },
      lingerMs !== undefined ? { lingerMs } : {},
    );
    return transport;
  }

  /** Standby replicas of every partition not owned here now (none is being revoked yet). */
  #startStandbys(transport: Transport & PartitionReader, partitionCount: number): void {
    const { standbys, standbyPollMs, host, table, topic, store } = this.options;
    if (!standbys || standbys < 1) return;
    this.#standby = new StandbyReplicas({
      table,
      changelog: topic,
      reader: transport,
      store,
      logger: host.logger,
      pollMs: standbyPollMs ?? 1000,
    });
    const others = Array.from({ length: partitionCount }, (_, partition) => partition);
    this.#standby.follow(others.filter((partition) => !this.partitions.has(partition)));
  }

  /**
   * Who hears of a batch's fate: the partition it was made in, while this worker still owns it. Once
   * revoked (its writes still finishing, or a later assignment's partition object in its place), nobody:
   * the records are the new owner's, and operators act only on partitions they own.
   */
  #owner(partition: number, writes: readonly ChangelogWrite[]): TablePartition<V> | undefined {
    const part = this.partitions.get(partition);
    return part !== undefined && part === (writes[0] as TableWrite<V> | undefined)?.origin ? part : undefined;
  }

  /**
   * The records of one produce, each with its change's extra headers; the last one also names its
   * source record and carries `rivulet-applied`, the applied offsets as of its change. Only that record
   * needs them: a produce of one partition is appended whole (one record batch), so the partition's
   * last record, the one a restore reads them from, is always some produce's last. Built at each
   * attempt, for the records kept of a batch only.
   */
  #records(partition: number, writes: readonly TableWrite<V>[]): ProducerRecord[] {
    const { topic, source } = this.options;
    const last = writes.length - 1;
    const noteHeaders = this.options.noteHeaders;
    return writes.map((write, i) => {
      const note = write.note;
      const extra =
        noteHeaders && note !== undefined ? { ...write.extra, ...noteHeaders(note) } : write.extra;
      if (i !== last) return { topic, partition, key: write.key, value: write.value, headers: extra };
      const headers: Record<string, string> = {};
      if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!;
      const origin = write.origin!;
      headers[CHANGELOG_HEADERS.sourceTopic] = source;
      headers[CHANGELOG_HEADERS.sourcePartition] = origin.text;
      headers[CHANGELOG_HEADERS.sourceOffset] = String(write.sourceOffset);
      headers[CHANGELOG_HEADERS.applied] = origin.appliedAsOf(write);
      const origins = origin.originsAsOf(write);
      if (origins !== undefined) headers[CHANGELOG_HEADERS.appliedOrigins] = origins;
      return { topic, partition, key: write.key, value: write.value, headers };
    });
  }

  /** Restores every owned partition still recovering; again after an abort for those still owned. */
  async #restoreRecovering(transport: Transport): Promise<void> {
    for (;;) {
      const recovering = [...this.partitions.values()].filter((part) => part.state === 'recovering');
      if (recovering.length === 0 || this.#closed) return;
      const abort = new AbortController();
      this.#restore = abort;
      try {
        this.#reading = restorePartitions(
          {
            table: this.options.table,
            changelog: this.options.topic,
            reader: transport as Transport & Required<Pick<Transport, 'readPartitions'>>,
            store: this.options.store,
            logger: this.options.host.logger,
            signal: abort.signal,
            onStall: (stall) => (this.#stall = stall),
            ...(this.options.stallTimeoutMs !== undefined
              ? { stallTimeoutMs: this.options.stallTimeoutMs }
              : {}),
          },
          recovering,
        );
        await this.#reading;
        for (const part of recovering)
          if (this.partitions.get(part.partition) === part) {
            part.state = 'ready';
            this.options.ready?.(part.partition);
          }
      } catch (error) {
        if (!(error instanceof PartitionReadAbortedError)) throw error;
        // A partition was revoked: restore those still ours.
      } finally {
        this.#restore = undefined;
        this.#stall = undefined;
      }
    }
  }
}
