import { type Observable, Subject } from 'rxjs';

/**
 * Whether a sink's writes currently succeed, as the worker's live page, status line and `/metrics`
 * show it. A sink is `failing` from its first failed attempt until a write succeeds again.
 *
 * @example
 * ```ts
 * for (const sink of sinkHealth()) {
 *   if (sink.state === 'failing') console.warn(`${sink.name} failing since ${new Date(sink.since)}: ${sink.lastError}`);
 * }
 * ```
 */
export interface SinkHealth {
  /** The sink's name, e.g. `redis`, `http`, `topic:reports`. */
  readonly name: string;
  readonly state: 'ok' | 'failing';
  /** When the current state began, in ms since the epoch. */
  readonly since: number;
  /** The last failed attempt's error, as one line (`ECONNREFUSED 127.0.0.1:6379`). */
  readonly lastError?: string;
  /** When a write last succeeded (ms since the epoch), if ever. */
  readonly lastSuccessAt?: number;
  /** Attempts that failed since the sink was last ok. */
  readonly failedAttempts: number;
}

const sinks = new Map<string, SinkHealth>();
const changes = new Subject<SinkHealth>();

/**
 * The health of every sink of this process that has written or tried to.
 *
 * @example
 * ```ts
 * const failing = sinkHealth().filter((sink) => sink.state === 'failing');
 * ```
 */
export function sinkHealth(): readonly SinkHealth[] {
  return [...sinks.values()];
}

/**
 * Each change of a sink's state (ok → failing, failing → ok), as it happens.
 *
 * @example
 * ```ts
 * sinkHealthChanges.subscribe((sink) => console.log(`${sink.name} is ${sink.state}`));
 * ```
 */
export const sinkHealthChanges: Observable<SinkHealth> = changes.asObservable();

/** One line describing an error, without its stack. @internal */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message || error.name;
    return typeof code === 'string' && !text.includes(code) ? `${code} ${text}` : text;
  }
  return String(error);
}

/** Records a failed attempt of sink `name`. @internal */
export function recordSinkFailure(name: string, error: unknown, now: number = Date.now()): void {
  const previous = sinks.get(name);
  const failing = previous?.state === 'failing';
  const next: SinkHealth = {
    name,
    state: 'failing',
    since: failing ? previous.since : now,
    lastError: errorLine(error),
    failedAttempts: (failing ? previous.failedAttempts : 0) + 1,
    ...(previous?.lastSuccessAt !== undefined ? { lastSuccessAt: previous.lastSuccessAt } : {}),
  };
  sinks.set(name, next);
  if (!failing && changes.observed) changes.next(next);
}

/** Records a successful write of sink `name`. @internal */
export function recordSinkSuccess(name: string, now: number = Date.now()): void {
  const previous = sinks.get(name);
  const recovered = previous?.state === 'failing';
  const next: SinkHealth = {
    name,
    state: 'ok',
    since: previous === undefined || recovered ? now : previous.since,
    lastSuccessAt: now,
    failedAttempts: 0,
  };
  sinks.set(name, next);
  if (recovered && changes.observed) changes.next(next);
}

/** Whether sink `name` wrote successfully at or after `time` (ms since the epoch). @internal */
export function sinkSucceededSince(name: string, time: number): boolean {
  const health = sinks.get(name);
  return health?.lastSuccessAt !== undefined && health.lastSuccessAt >= time;
}

/** Forgets every sink (tests). @internal */
export function resetSinkHealth(): void {
  sinks.clear();
}
