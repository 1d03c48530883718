import type { TableBinding } from './table-binding.js';
import type { TableStore } from './stores/table-store.js';
import type { TableState, TableStats } from './table-types.js';

/** Counters of a table right now: the body of `Table.stats`. @internal */
export function tableStats<K, V>(
  table: { readonly name: string; readonly changelogTopic: string },
  binding: TableBinding<K, V>,
  store: TableStore,
): TableStats {
  const changelog = binding.changelog;
  const partitions = binding.ownedPartitions().map((partition) => {
    const part = binding.part(partition)!;
    return {
      partition,
      state: part.state,
      keys: store.size(partition),
      read: part.read,
      toRead: part.toRead,
      pendingWrites: part.pendingWrites,
    };
  });
  const bound = binding.scope !== undefined;
  const state: TableState =
    !binding.bound || (bound && changelog?.partitionCount === undefined)
      ? 'idle'
      : partitions.some((p) => p.state === 'recovering')
        ? 'recovering'
        : 'ready';
  return {
    name: table.name,
    changelog: table.changelogTopic,
    store: store.description,
    state,
    partitionCount: bound ? changelog?.partitionCount : undefined,
    partitions,
    stalledMs: changelog?.stalledMs,
    writeFailures: changelog?.writeFailures ?? 0,
    standbys: changelog?.standbys() ?? [],
  };
}
