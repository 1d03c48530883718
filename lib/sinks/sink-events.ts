import { Subject, type Observable } from 'rxjs';

/**
 * The outcome of one write of a sink, for metrics.
 *
 * @example
 * ```ts
 * sinkEvents.pipe(filter((event: SinkEvent) => event.error !== undefined)).subscribe((event) =>
 *   console.warn(`${event.sink}: ${event.messages} message(s) failed after ${event.attempts} attempts`),
 * );
 * ```
 */
export interface SinkEvent {
  /** The sink's name, e.g. `redis`, `http`, `topic:reports`. */
  readonly sink: string;
  /** Messages the write carried. */
  readonly messages: number;
  readonly durationMs: number;
  /** Attempts made (1 when the first succeeded). */
  readonly attempts: number;
  /** Set when the write failed for good. */
  readonly error?: unknown;
}

const events = new Subject<SinkEvent>();

/**
 * Every sink write in this process, as it finishes. The worker's `/metrics` counts them; subscribe to
 * log or measure them yourself.
 *
 * @example
 * ```ts
 * sinkEvents.subscribe((event) => histogram.observe({ sink: event.sink }, event.durationMs / 1000));
 * ```
 */
export const sinkEvents: Observable<SinkEvent> = events.asObservable();

/** @internal */
export function emitSinkEvent(event: SinkEvent): void {
  if (events.observed) events.next(event);
}
