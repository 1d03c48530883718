import type { Table } from '../tables/table.js';
import type { EventTimePartition } from './window-partition.js';

/**
 * Header of every changelog record of a windowed table (or stream join): the partition's watermark
 * after the change.
 *
 * @example
 * ```ts
 * const watermark = Number(record.headers[WATERMARK_HEADER]);
 * ```
 */
export const WATERMARK_HEADER = 'rivulet-watermark';

/**
 * The changelog headers naming `watermark`.
 * @internal
 */
export function watermarkHeaders(watermark: number): Readonly<Record<string, string>> {
  return { [WATERMARK_HEADER]: String(watermark) };
}

/**
 * Re-writes the state of the key due first in `part`, with `watermark` in the changelog headers (an
 * idle partition's watermark, durable before anything closes by it) besides `headers`; `then(false)`
 * when the partition is moving away.
 * @internal
 */
export function rewriteWatermark<K, V>(
  table: Table<K, V>,
  part: EventTimePartition<K, unknown>,
  watermark: number,
  then: (durable: boolean) => void,
  headers: Readonly<Record<string, string>> = {},
): void {
  const key = part.firstDue()!;
  let state: V | undefined;
  try {
    state = table.get(key);
  } catch {
    return then(false);
  }
  table.put(part.partition, key, state, { ...headers, [WATERMARK_HEADER]: String(watermark) }, then);
}
