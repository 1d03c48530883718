import type { MessageHeaders } from '../core/message.js';
import type { TransportRecord } from '../transports/transport.js';
import type { TableStore } from './stores/table-store.js';

/**
 * Applies a batch of changelog records of one partition to a store: the records at or past `from`
 * (those below it are in the store already), tombstones deleting, and the checkpoint moved past the
 * batch's last record. Returns the headers of the batch's last record (they name the applied source
 * offsets) and how many records were applied; what a restore and a standby replica both do per batch.
 * @internal
 */
export async function applyChangelogRecords(
  store: TableStore,
  partition: number,
  records: readonly TransportRecord[],
  from: number,
): Promise<{ readonly lastHeaders: MessageHeaders | undefined; readonly applied: number }> {
  const changes = [];
  let applied = 0;
  for (const record of records) {
    if (record.offset < from) continue;
    applied++;
    if (record.key !== null) changes.push({ key: record.key, value: record.value });
  }
  const last = records.at(-1);
  if (last && last.offset >= from) await store.apply(partition, changes, last.offset + 1);
  return { lastHeaders: last?.headers, applied };
}
