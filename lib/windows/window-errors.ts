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
