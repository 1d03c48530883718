import { ConfigurationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { withRetries } from '../core/retry.js';
import { type Transport, isPartitionReader } from '../transports/transport.js';
import type { TableStore } from './stores/table-store.js';
import { TablePartition } from './table-partition.js';
import { METADATA_RETRY, restorePartitions } from './table-recovery.js';

/** What {@link restoreGlobalTable} works with. @internal */
export interface GlobalRestoreContext {
  readonly table: string;
  readonly topic: string;
  readonly transport: Transport;
  readonly store: TableStore;
  readonly logger: Logger;
  /** Aborts the restore (the app stops). */
  readonly signal: AbortSignal;
  readonly stallTimeoutMs?: number;
  /** Told the topic's partition count once its end offsets are read, before the records are. */
  counted(partitionCount: number): void;
}

/**
 * Restores a global table: reads every partition of its topic, from the store's checkpoint, up to the
 * end offsets seen now (with `restorePartitions`, as a table's changelog). Resolves with each
 * partition's position: every offset below it was read (records or gaps), and nothing past the store's
 * checkpoint was skipped. Rejects with a `ConfigurationError` for a transport that cannot read
 * partitions.
 *
 * @example
 * ```ts
 * const positions = await restoreGlobalTable({ table, topic, transport, store, logger, signal, counted });
 * ```
 * @internal
 */
export async function restoreGlobalTable(
  context: GlobalRestoreContext,
): Promise<readonly { readonly partition: number; readonly position: number }[]> {
  const { table, topic, transport, store, logger } = context;
  if (!isPartitionReader(transport))
    throw new ConfigurationError(
      `Global table ${table}: the transport ${transport.description} cannot read partitions (readPartitions)`,
    );
  const ends = await withRetries(() => transport.endOffsets(topic), METADATA_RETRY);
  context.counted(ends.length);
  const parts = ends.map(({ partition }) => new TablePartition(partition, store, logger));
  await restorePartitions(
    {
      table,
      changelog: topic,
      reader: transport,
      store,
      logger,
      signal: context.signal,
      ...(context.stallTimeoutMs !== undefined ? { stallTimeoutMs: context.stallTimeoutMs } : {}),
    },
    parts,
  );
  return ends.map(({ partition, offset }) => ({
    partition,
    position: Math.max(offset, store.checkpoint(partition) ?? 0),
  }));
}
