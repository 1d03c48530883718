import type { Logger } from '../core/logger.js';
import { type RetryPolicy, withRetries } from '../core/retry.js';
import { PartitionReadAbortedError } from '../transports/partition-read-errors.js';
import type { PartitionRange, PartitionReader, ReadStall } from '../transports/transport.js';
import { appliedFromHeaders, originsFromHeaders } from './changelog-headers.js';
import { applyChangelogRecords } from './changelog-apply.js';
import type { TablePartition } from './table-partition.js';
import type { TableStore } from './stores/table-store.js';

/** What {@link restorePartitions} works with. @internal */
export interface RestoreContext {
  readonly table: string;
  readonly changelog: string;
  readonly reader: PartitionReader & {
    endOffsets(topic: string): Promise<readonly { partition: number; offset: number }[]>;
  };
  readonly store: TableStore;
  readonly logger: Logger;
  readonly stallTimeoutMs?: number;
  readonly signal: AbortSignal;
  /** The last stall seen, for stats (undefined once progress resumes). */
  onStall?(stall: ReadStall | undefined): void;
}

/** A topic just created (or a broker just restarted) may not answer offsets requests yet: retried. @internal */
export const METADATA_RETRY: RetryPolicy = { retries: 8, backoff: { initialDelayMs: 100, maxDelayMs: 2000 } };

/**
 * Restores partitions of a table from its changelog: reads each from the store's checkpoint to the
 * end offset captured now, applying the records to the store one batch at a time, and rebuilds the
 * applied source offsets from the last record's headers. A store ahead of the changelog (the topic was
 * recreated) is dropped and replayed from the start. Progress is kept on the partitions; a stall is
 * logged. Rejects with `PartitionReadAbortedError` when `signal` aborts.
 * @internal
 */
export async function restorePartitions<V>(
  context: RestoreContext,
  partitions: readonly TablePartition<V>[],
): Promise<void> {
  const { store, changelog, logger } = context;
  // An abort (the partitions moved away, the app stops) ends the retries too.
  const offsets = await withRetries(
    () => {
      if (context.signal.aborted) return Promise.reject(new PartitionReadAbortedError(changelog));
      return context.reader.endOffsets(changelog);
    },
    { ...METADATA_RETRY, retriable: (error) => !(error instanceof PartitionReadAbortedError) },
  );
  const ends = new Map(offsets.map((e) => [e.partition, e.offset]));
  const ranges: PartitionRange[] = [];
  const checkpoints = new Map<number, number>();
  for (const part of partitions) {
    const end = ends.get(part.partition) ?? 0;
    let checkpoint = store.checkpoint(part.partition) ?? 0;
    if (checkpoint > end) {
      logger.warn(
        { table: context.table, partition: part.partition, checkpoint, end },
        'the table store is ahead of its changelog (was the topic recreated?); replaying it from the start',
      );
      await store.dropPartition(part.partition);
      checkpoint = 0;
    }
    checkpoints.set(part.partition, checkpoint);
    // The last record is read even when the store holds it: its headers name the applied offsets.
    const from = Math.min(checkpoint, Math.max(0, end - 1));
    part.read = 0;
    part.toRead = end - checkpoint;
    ranges.push({ partition: part.partition, from, to: end });
  }
  const byPartition = new Map(partitions.map((part) => [part.partition, part]));
  /** Partitions whose range starts below the first record retention left (the first offset left). */
  const truncated = new Map<number, number>();
  const toRead = ranges.reduce((sum, range) => sum + (range.to - range.from), 0);
  const started = Date.now();
  logger.info(
    { table: context.table, changelog, partitions: ranges.map((r) => r.partition), toRead },
    'restoring table partitions from the changelog',
  );
  const result = await context.reader.readPartitions(changelog, ranges, {
    signal: context.signal,
    ...(context.stallTimeoutMs !== undefined ? { stallTimeoutMs: context.stallTimeoutMs } : {}),
    onStall: (stall) => {
      context.onStall?.(stall);
      logger.warn(
        { table: context.table, ...stall },
        `restoring table ${context.table} made no progress for ${Math.round(stall.idleMs / 1000)} s (waiting for ${stall.waitingFor})`,
      );
    },
    onProgress: () => context.onStall?.(undefined),
    onTruncated: (partition, low) => truncated.set(partition, low),
    onBatch: async ({ partition, records }) => {
      const part = byPartition.get(partition)!;
      if (truncated.has(partition)) await dropTruncated(context, partition, truncated, checkpoints);
      const { lastHeaders, applied } = await applyChangelogRecords(
        store,
        partition,
        records,
        checkpoints.get(partition)!,
      );
      if (!lastHeaders) return;
      const offsets = appliedFromHeaders(lastHeaders);
      if (offsets) {
        part.applied = offsets;
        part.origins = originsFromHeaders(lastHeaders);
      }
      part.restoredHeaders = lastHeaders;
      part.read += applied;
    },
  });
  // Retention deleted every record of the range: what the store held is gone from the truth too.
  for (const partition of [...truncated.keys()])
    await dropTruncated(context, partition, truncated, checkpoints);
  const seconds = (Date.now() - started) / 1000;
  logger.info(
    {
      table: context.table,
      partitions: ranges.map((r) => r.partition),
      records: result.read,
      durationMs: result.durationMs,
      recordsPerSecond: seconds > 0 ? Math.round(result.read / seconds) : undefined,
    },
    'table partitions restored',
  );
}

/**
 * The store's copy of a partition starts below what retention left of its changelog: records it never
 * saw (tombstones among them) are gone, so the copy cannot be brought up to date. It is dropped and the
 * partition replayed from the first record left.
 */
async function dropTruncated(
  context: RestoreContext,
  partition: number,
  truncated: Map<number, number>,
  checkpoints: Map<number, number>,
): Promise<void> {
  const low = truncated.get(partition)!;
  truncated.delete(partition);
  const checkpoint = checkpoints.get(partition)!;
  checkpoints.set(partition, 0);
  if (context.store.checkpoint(partition) === undefined) return; // nothing held: nothing missed
  context.logger.warn(
    { table: context.table, partition, checkpoint, low },
    'retention deleted changelog records the table store never read; replaying the partition from the first record left',
  );
  await context.store.dropPartition(partition);
}
