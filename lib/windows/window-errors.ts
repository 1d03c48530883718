import { RivuletError } from '../core/errors.js';

/**
 * A record arrived after one of its windows had closed: its event time is behind the partition's
 * watermark (the highest event time seen, minus the grace period). It goes to the dead-letter topic
 * with this reason (or is counted and dropped with `late: 'drop'`), never into a window.
 *
 * @example
 * ```ts
 * deadLetter.headers['rivulet-error-name']; // 'LateRecordError'
 * ```
 */
export class LateRecordError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly table: string,
    readonly eventTime: number,
    readonly watermark: number,
    readonly windowEnd: number,
  ) {
    super(
      `Window table ${table}: a record with event time ${iso(eventTime)} arrived after its window ending ${iso(windowEnd)} closed ` +
        `(watermark ${iso(watermark)}, ${watermark - eventTime} ms behind it); raise graceMs to accept records this late`,
    );
  }
}

/**
 * The event time of a record is not a finite number of milliseconds (a `time` function returned
 * something else, or the record has no timestamp).
 *
 * @example
 * ```ts
 * aggregateWindows(perMinute, { time: (m) => Date.parse(m.value.at) }); // NaN for a bad date → this error
 * ```
 */
export class InvalidEventTimeError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly table: string,
    readonly eventTime: unknown,
  ) {
    super(
      `Window table ${table}: the event time of a record must be a finite number of ms, not ${String(eventTime)}`,
    );
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/**
 * A window's final result failed for good (its retries used up, not an outage) under
 * `onFailure: 'stop'`: the agent fails with this as the cause of its `AgentFailedError`. The window
 * stays in the table, so the next run emits its result again.
 *
 * @example
 * ```ts
 * const agent = app.agent('volume', orders, pipeline, { errors: { onFailure: 'stop' } });
 * // once a final result has failed for good:
 * agent.failure?.cause instanceof WindowResultFailedError; // true
 * ```
 */
export class WindowResultFailedError extends RivuletError {
  readonly start: number;
  readonly end: number;
  readonly partition: number;

  constructor(
    readonly table: string,
    window: { readonly partition: number; readonly start: number; readonly end: number },
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `Window table ${table}: the final result of the window ${iso(window.start)}–${iso(window.end)} ` +
        `(partition ${window.partition}) failed for good: ${reason}`,
      { cause },
    );
    this.start = window.start;
    this.end = window.end;
    this.partition = window.partition;
  }
}
