import type { Table } from './table.js';

/** Keys read at a time when going through a whole partition. */
const KEY_PAGE = 1000;

/**
 * Calls `each` for every key of a partition the table owns here and its value, a page of keys at a
 * time: what a windowed table or a stream join schedules from its restored state.
 * @internal
 */
export function eachKey<K, V, C extends V | undefined>(
  table: Table<K, V, C>,
  partition: number,
  each: (key: K, value: C) => void,
): void {
  let page = table.keys(partition, { limit: KEY_PAGE });
  for (;;) {
    for (const key of page.keys) each(key, table.get(key));
    if (page.next === undefined) return;
    page = table.keys(partition, { after: page.next, limit: KEY_PAGE });
  }
}
