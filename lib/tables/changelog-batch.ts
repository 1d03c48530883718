import type { ChangelogWrite } from './changelog-writer.js';

/** Most bytes (keys, values, headers) in one changelog produce. @internal */
export const MAX_BATCH_BYTES = 512 * 1024;
/** A record's bytes beyond its key, value and extra headers: framing and the headers the host adds. */
const RECORD_OVERHEAD = 256;

function sizeOf(write: ChangelogWrite): number {
  let size = write.key.length + (write.value?.length ?? 0) + RECORD_OVERHEAD;
  const extra = write.extra;
  if (extra !== undefined) for (const name in extra) size += name.length + extra[name]!.length;
  return size;
}

/**
 * The next batch of a partition's queue: its longest prefix whose records stay within `maxRecords` and
 * `maxBytes` (at least one write), and those records: the last write of each key, in the order of those
 * last writes (what a compacted changelog keeps; Kafka Streams' record cache does the same). The bounds
 * count the records produced, not the writes they stand for, so a few hot keys collapse a long queue
 * into one small produce. The batch's last write stays last, so the partition's last record still
 * carries every source offset the batch applied.
 *
 * Bounded by bytes as well as by count: Kafka refuses a request over its message size limit (1 MiB by
 * default), and retrying that request unchanged would never succeed. Most often the whole queue fits:
 * then only the records produced are sized (a value left to encode until produced is encoded for them
 * alone); otherwise the prefix is cut write by write.
 * @internal
 */
export function cutBatch(
  queue: readonly ChangelogWrite[],
  maxRecords: number,
  maxBytes: number,
): { take: number; records: ChangelogWrite[] } {
  const last = new Map<string, number>();
  const ids: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const write = queue[i]!;
    const id = write.keyId ?? write.key.toString('latin1');
    last.set(id, i);
    ids.push(id);
  }
  if (last.size <= maxRecords) {
    let bytes = 0;
    for (const index of last.values()) bytes += sizeOf(queue[index]!);
    if (bytes <= maxBytes) {
      const records: ChangelogWrite[] = [];
      for (let i = 0; i < queue.length; i++) if (last.get(ids[i]!) === i) records.push(queue[i]!);
      return { take: queue.length, records };
    }
  }
  return cutPrefix(queue, ids, maxRecords, maxBytes);
}

/** {@link cutBatch} when the whole queue does not fit: the prefix grows write by write while it fits. */
function cutPrefix(
  queue: readonly ChangelogWrite[],
  ids: readonly string[],
  maxRecords: number,
  maxBytes: number,
): { take: number; records: ChangelogWrite[] } {
  const latest = new Map<string, { index: number; size: number }>();
  let bytes = 0;
  let take = 0;
  for (; take < queue.length; take++) {
    const id = ids[take]!;
    const size = sizeOf(queue[take]!);
    const previous = latest.get(id);
    const after = bytes + size - (previous?.size ?? 0);
    if (take > 0 && (after > maxBytes || (!previous && latest.size >= maxRecords))) break;
    bytes = after;
    if (previous) {
      previous.index = take;
      previous.size = size;
    } else latest.set(id, { index: take, size });
  }
  if (latest.size === take) return { take, records: queue.slice(0, take) };
  const records: ChangelogWrite[] = [];
  for (let i = 0; i < take; i++) if (latest.get(ids[i]!)!.index === i) records.push(queue[i]!);
  return { take, records };
}
