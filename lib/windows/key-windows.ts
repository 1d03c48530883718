import { isJsonPrimitive } from '../codecs/codec-identity.js';
import type { Aggregate } from './aggregate.js';
import { type WindowSpec, firstStart, lastStart } from './window-spec.js';

/** One window of a key in the table: start, end (excluded), aggregate. @internal */
export type StoredWindow<A> = readonly [start: number, end: number, aggregate: A];

/**
 * What a windowed table keeps per key (its changelog value, as JSON): the key's open windows, ordered
 * by end then start, and for sliding windows the key's recent events (time, value), which new windows
 * are built from.
 * @internal
 */
export interface KeyWindows<A, T> {
  readonly w: readonly StoredWindow<A>[];
  readonly ev?: readonly (readonly [time: number, value: T])[];
}

/**
 * The key's windows once the event `(t, value)` is added to every window holding `t`, creating the
 * missing ones. The caller checked that none of them has closed (the event is not late). For sliding
 * windows the event is kept, and events no new window can hold any more (at or before
 * `watermark - size`) are dropped.
 * @internal
 */
export function addEvent<A, T>(
  state: KeyWindows<A, unknown> | undefined,
  spec: WindowSpec,
  aggregate: Aggregate<T, A, unknown>,
  t: number,
  record: T,
  watermark: number,
): KeyWindows<A, unknown> {
  const value = aggregate.event ? aggregate.event(record) : record;
  if (spec.kind !== 'sliding') {
    const windows = state ? state.w.slice() : [];
    const last = lastStart(spec, t);
    for (let start = firstStart(spec, t); start <= last; start += spec.step) {
      // ordered by end (one spec: a window's end tells its start), searched from the last one, as
      // events mostly go to the newest windows
      const end = start + spec.size;
      let i = windows.length - 1;
      while (i >= 0 && windows[i]![1] > end) i--;
      if (i >= 0 && windows[i]![1] === end) {
        const window = windows[i]!; // its numbers kept: times past 2^30 ms are boxed, not copied anew
        windows[i] = [window[0], window[1], aggregate.add(window[2], value)];
      } else windows.splice(i + 1, 0, [start, end, aggregate.add(aggregate.init(), value)]);
    }
    return { w: windows };
  }
  const windows = state ? state.w.slice() : [];
  const events = state?.ev ?? [];
  const start = t - spec.size + 1;
  let own = false;
  for (let i = 0; i < windows.length; i++) {
    const [s, e, a] = windows[i]!;
    if (s <= t && t < e) windows[i] = [s, e, aggregate.add(a, value)];
    if (s === start && e === t + 1) own = true;
  }
  if (!own) {
    let a = aggregate.init();
    for (const [time, v] of events) if (time >= start && time <= t) a = aggregate.add(a, v);
    windows.push([start, t + 1, aggregate.add(a, value)]);
  }
  const kept = events.filter(([time]) => time > watermark - spec.size);
  kept.push([t, value]);
  return { w: sortWindows(windows), ev: kept };
}

/**
 * The key's windows without `[start, end)` (its final result was handled) and without events that no
 * window can need any more; `undefined` when nothing is left (the key is deleted: a tombstone).
 * @internal
 */
export function removeWindow<A, T>(
  state: KeyWindows<A, T> | undefined,
  spec: WindowSpec,
  start: number,
  end: number,
  watermark: number,
): KeyWindows<A, T> | undefined {
  if (!state) return undefined;
  return prune({ ...state, w: state.w.filter((w) => w[0] !== start || w[1] !== end) }, spec, watermark);
}

/** The state without expired events; `undefined` when it holds nothing. @internal */
export function prune<A, T>(
  state: KeyWindows<A, T>,
  spec: WindowSpec,
  watermark: number,
): KeyWindows<A, T> | undefined {
  const events = state.ev?.filter(([time]) => time > watermark - spec.size);
  if (state.w.length === 0 && (events === undefined || events.length === 0)) return undefined;
  return events === undefined || events.length === 0 ? { w: state.w } : { w: state.w, ev: events };
}

/** When the key's state expires if nothing happens to it: the time its last event stops mattering. @internal */
export function expiresAt<A, T>(state: KeyWindows<A, T>, spec: WindowSpec): number | undefined {
  const events = state.ev;
  if (!events || events.length === 0) return undefined;
  let last = -Infinity;
  for (const [time] of events) last = Math.max(last, time);
  return last + spec.size;
}

/**
 * Whether a key's state holds only JSON primitives (every aggregate, and every event kept): then its
 * changelog value may be encoded only when produced. The state is made anew by each change (arrays and
 * tuples are never changed after), so only values of the aggregate or the records could change later.
 * @internal
 */
export function plainWindows<A, T>(state: KeyWindows<A, T>): boolean {
  for (const window of state.w) if (!isJsonPrimitive(window[2])) return false;
  const events = state.ev;
  if (events !== undefined) for (const event of events) if (!isJsonPrimitive(event[1])) return false;
  return true;
}

function sortWindows<A>(windows: StoredWindow<A>[]): StoredWindow<A>[] {
  return windows.sort((x, y) => x[1] - y[1] || x[0] - y[0]);
}
