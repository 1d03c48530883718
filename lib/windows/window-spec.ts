import { ConfigurationError } from '../core/errors.js';

/**
 * How a windowed table cuts time into windows. Windows are half-open, `[start, end)` in milliseconds
 * of event time. Build one with {@link tumbling}, {@link hopping} or {@link sliding}.
 *
 * @example
 * ```ts
 * const spec: WindowSpec = tumbling(60_000); // one window per minute
 * ```
 */
export interface WindowSpec {
  readonly kind: 'tumbling' | 'hopping' | 'sliding';
  /** Length of a window, in ms. */
  readonly size: number;
  /** Distance between the starts of two windows, in ms (`size` for tumbling, 1 for sliding). */
  readonly step: number;
}

/**
 * Back-to-back windows of `sizeMs`, aligned to the epoch: each event is in exactly one window,
 * `[floor(t / size) * size, + size)`.
 *
 * @example
 * ```ts
 * const perMinute = app.windowTable('orders-per-minute', { window: tumbling(60_000), aggregate: count() });
 * ```
 */
export function tumbling(sizeMs: number): WindowSpec {
  checkLength('tumbling window size', sizeMs);
  return { kind: 'tumbling', size: sizeMs, step: sizeMs };
}

/**
 * Overlapping windows of `sizeMs` starting every `stepMs` (aligned to the epoch): each event is in
 * every window whose start lies in `(t - size, t]`, i.e. `size / step` windows when `step` divides
 * `size`. Each window carries all of its events, not one step's worth.
 *
 * @example
 * ```ts
 * // the last 5 minutes, every minute
 * const slippage = app.windowTable('slippage-5m', { window: hopping(300_000, 60_000), aggregate: sum((o: Fill) => o.slippage) });
 * ```
 */
export function hopping(sizeMs: number, stepMs: number): WindowSpec {
  checkLength('hopping window size', sizeMs);
  checkLength('hopping window step', stepMs);
  if (stepMs > sizeMs)
    throw new ConfigurationError(
      `A hopping window's step (${stepMs} ms) must not exceed its size (${sizeMs} ms)`,
    );
  return { kind: 'hopping', size: sizeMs, step: stepMs };
}

/**
 * One window per distinct event time `t` of a key, ending with that event: `[t - size + 1, t + 1)`,
 * holding the key's events of the last `sizeMs` up to and including `t` ("3 failed logins within 10
 * minutes"). An event also joins the later windows of its key that cover it. The table keeps a key's
 * recent events (as JSON) to build new windows.
 *
 * @example
 * ```ts
 * const failures = app.windowTable('login-failures', { window: sliding(600_000), aggregate: count() });
 * ```
 */
export function sliding(sizeMs: number): WindowSpec {
  checkLength('sliding window size', sizeMs);
  return { kind: 'sliding', size: sizeMs, step: 1 };
}

/** The `[start, end)` windows a tumbling or hopping spec puts an event at `t` in, by start. @internal */
export function windowsOf(spec: WindowSpec, t: number): [number, number][] {
  if (spec.kind === 'sliding') return [[t - spec.size + 1, t + 1]];
  const windows: [number, number][] = [];
  const last = lastStart(spec, t);
  for (let start = firstStart(spec, t); start <= last; start += spec.step)
    windows.push([start, start + spec.size]);
  return windows;
}

/**
 * The end of the first window to close among those holding an event at `t`: the event is late once the
 * watermark reached it (one of its windows has closed), and then goes to no window at all.
 * @internal
 */
export function earliestEnd(spec: WindowSpec, t: number): number {
  if (spec.kind === 'sliding') return t + 1;
  return firstStart(spec, t) + spec.size;
}

/** The start of the last (tumbling or hopping) window holding an event at `t`. @internal */
export function lastStart(spec: WindowSpec, t: number): number {
  return Math.floor(t / spec.step) * spec.step;
}

/** The start of the first (tumbling or hopping) window holding an event at `t`. @internal */
export function firstStart(spec: WindowSpec, t: number): number {
  return (Math.floor((t - spec.size) / spec.step) + 1) * spec.step;
}

function checkLength(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new ConfigurationError(`A ${what} must be a whole number of milliseconds ≥ 1, not ${ms}`);
}
