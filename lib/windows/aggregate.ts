/**
 * What a windowed table computes per window and key: a value to start from and how an event changes
 * it. Both must be pure, and the value must survive JSON (it is stored in the changelog as JSON).
 * Ready-made: {@link count}, {@link sum}, {@link min}, {@link max}, {@link collect}.
 *
 * @example
 * ```ts
 * const notional: Aggregate<Order, number> = { init: () => 0, add: (total, o) => total + o.qty * o.price };
 * ```
 */
export interface Aggregate<T, A> {
  init(): A;
  add(aggregate: A, value: T): A;
}

/**
 * Counts the events of a window.
 *
 * @example
 * ```ts
 * app.windowTable('orders-per-minute', { window: tumbling(60_000), aggregate: count() });
 * ```
 */
export function count(): Aggregate<unknown, number> {
  return { init: () => 0, add: (n) => n + 1 };
}

/**
 * Sums a number taken from each event.
 *
 * @example
 * ```ts
 * app.windowTable('volume', { window: tumbling(60_000), aggregate: sum((o: Order) => o.qty) });
 * ```
 */
export function sum<T>(of: (value: T) => number): Aggregate<T, number> {
  return { init: () => 0, add: (total, value) => total + of(value) };
}

/**
 * The smallest number taken from the events (`null` for no event).
 *
 * @example
 * ```ts
 * app.windowTable('low', { window: tumbling(60_000), aggregate: min((t: Tick) => t.price) });
 * ```
 */
export function min<T>(of: (value: T) => number): Aggregate<T, number | null> {
  return { init: () => null, add: (low, value) => (low === null ? of(value) : Math.min(low, of(value))) };
}

/**
 * The largest number taken from the events (`null` for no event).
 *
 * @example
 * ```ts
 * app.windowTable('high', { window: tumbling(60_000), aggregate: max((t: Tick) => t.price) });
 * ```
 */
export function max<T>(of: (value: T) => number): Aggregate<T, number | null> {
  return { init: () => null, add: (high, value) => (high === null ? of(value) : Math.max(high, of(value))) };
}

/**
 * The events (or what `of` takes from each), in the order they were applied.
 *
 * @example
 * ```ts
 * app.windowTable('session-pages', { window: tumbling(600_000), aggregate: collect((v: View) => v.page) });
 * ```
 */
export function collect<T, U = T>(of: (value: T) => U = (value) => value as unknown as U): Aggregate<T, U[]> {
  return { init: () => [], add: (list, value) => [...list, of(value)] };
}
