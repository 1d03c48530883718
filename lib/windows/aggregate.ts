/**
 * What a windowed table computes per window and key: a value to start from and how an event changes
 * it. Both must be pure, and the value must survive JSON (it is stored in the changelog as JSON).
 * `event` picks what `add` needs of a record (default: its whole value); sliding windows keep that
 * per event, so a small pick keeps their state small. Ready-made: {@link count}, {@link sum},
 * {@link min}, {@link max}, {@link collect}.
 *
 * @example
 * ```ts
 * const notional: Aggregate<Order, number, number> = {
 *   init: () => 0,
 *   event: (o) => o.qty * o.price,
 *   add: (total, value) => total + value,
 * };
 * ```
 */
export interface Aggregate<T, A, E = T> {
  init(): A;
  add(aggregate: A, event: E): A;
  event?(value: T): E;
}

/**
 * Counts the events of a window.
 *
 * @example
 * ```ts
 * app.windowTable('orders-per-minute', { window: tumbling(60_000), aggregate: count() });
 * ```
 */
export function count(): Aggregate<unknown, number, null> {
  return { init: () => 0, add: (n) => n + 1, event: () => null };
}

/**
 * Sums a number taken from each event.
 *
 * @example
 * ```ts
 * app.windowTable('volume', { window: tumbling(60_000), aggregate: sum((o: Order) => o.qty) });
 * ```
 */
export function sum<T>(of: (value: T) => number): Aggregate<T, number, number> {
  return { init: () => 0, event: of, add: (total, n) => total + n };
}

/**
 * The smallest number taken from the events (`null` for no event).
 *
 * @example
 * ```ts
 * app.windowTable('low', { window: tumbling(60_000), aggregate: min((t: Tick) => t.price) });
 * ```
 */
export function min<T>(of: (value: T) => number): Aggregate<T, number | null, number> {
  return { init: () => null, event: of, add: (low, n) => (low === null ? n : Math.min(low, n)) };
}

/**
 * The largest number taken from the events (`null` for no event).
 *
 * @example
 * ```ts
 * app.windowTable('high', { window: tumbling(60_000), aggregate: max((t: Tick) => t.price) });
 * ```
 */
export function max<T>(of: (value: T) => number): Aggregate<T, number | null, number> {
  return { init: () => null, event: of, add: (high, n) => (high === null ? n : Math.max(high, n)) };
}

/**
 * The events (or what `of` takes from each), in the order they were applied.
 *
 * @example
 * ```ts
 * app.windowTable('session-pages', { window: tumbling(600_000), aggregate: collect((v: View) => v.page) });
 * ```
 */
export function collect<T, U = T>(
  of: (value: T) => U = (value) => value as unknown as U,
): Aggregate<T, U[], U> {
  return { init: () => [], event: of, add: (list, item) => [...list, item] };
}
