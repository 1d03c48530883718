/**
 * A pure model of windowed aggregation for the property spec of windows: given each partition's events
 * in arrival (offset) order, which events are late and which final result each window of each key must
 * have. Written apart from lib/windows on purpose (no shared code), from the documented semantics:
 *
 * - the watermark of a partition is the highest event time accepted so far minus the grace;
 * - a record is late when the earliest-closing window holding it ends at or before the watermark; a
 *   late record joins no window;
 * - tumbling: `[floor(t / size) * size, + size)`; hopping: every `[s, s + size)` with `s` a multiple of
 *   `step` and `s <= t < s + size`; sliding: one window `[t - size + 1, t + 1)` per distinct event time
 *   `t` of a key, holding the key's events in that range;
 * - a window's value lists the ids of its events in arrival order (the aggregate is `collect`).
 */

/** How the model cuts time (the same shape as the library's window spec, but its own type). */
export interface ModelWindow {
  readonly kind: 'tumbling' | 'hopping' | 'sliding';
  readonly size: number;
  readonly step: number;
}

/** One event as the model sees it. */
export interface ModelEvent {
  readonly id: number;
  readonly key: string;
  readonly t: number;
}

/** What the model expects. */
export interface ModelOutcome {
  /** Final value (event ids in arrival order) per window, by {@link windowId}. */
  readonly windows: Map<string, number[]>;
  /** Ids of the late events. */
  readonly late: Set<number>;
}

/** The id of a key's window: `key|start|end`. */
export function windowId(key: string, start: number, end: number): string {
  return `${key}|${start}|${end}`;
}

/** The `[start, end)` windows of a tumbling or hopping model holding `t`. */
function fixedWindows(spec: ModelWindow, t: number): [number, number][] {
  const windows: [number, number][] = [];
  for (let start = Math.floor(t / spec.step) * spec.step; start > t - spec.size; start -= spec.step)
    windows.push([start, start + spec.size]);
  return windows;
}

/** The end of the first window to close among those that would hold an event at `t`. */
function earliestEnd(spec: ModelWindow, t: number): number {
  if (spec.kind === 'sliding') return t + 1;
  return Math.min(...fixedWindows(spec, t).map(([, end]) => end));
}

/**
 * The expected outcome of `partitions` (each an array of events in offset order) under `spec` and
 * `grace`.
 */
export function referenceOutcome(
  spec: ModelWindow,
  grace: number,
  partitions: readonly (readonly ModelEvent[])[],
): ModelOutcome {
  const late = new Set<number>();
  const accepted: ModelEvent[] = []; // per key, arrival order is kept (a key lives in one partition)
  for (const events of partitions) {
    let maxTime = Number.NEGATIVE_INFINITY;
    for (const event of events) {
      if (earliestEnd(spec, event.t) <= maxTime - grace) {
        late.add(event.id);
        continue;
      }
      maxTime = Math.max(maxTime, event.t);
      accepted.push(event);
    }
  }
  const windows = new Map<string, number[]>();
  if (spec.kind !== 'sliding') {
    for (const event of accepted) {
      for (const [start, end] of fixedWindows(spec, event.t)) {
        const id = windowId(event.key, start, end);
        windows.set(id, [...(windows.get(id) ?? []), event.id]);
      }
    }
    return { windows, late };
  }
  const byKey = new Map<string, ModelEvent[]>();
  for (const event of accepted) byKey.set(event.key, [...(byKey.get(event.key) ?? []), event]);
  for (const [key, events] of byKey) {
    for (const end of new Set(events.map((event) => event.t + 1))) {
      const start = end - spec.size;
      windows.set(
        windowId(key, start, end),
        events.filter((event) => event.t >= start && event.t < end).map((event) => event.id),
      );
    }
  }
  return { windows, late };
}
