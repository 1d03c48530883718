import type * as CronParser from 'cron-parser';
import {
  type MonoTypeOperatorFunction,
  Observable,
  type SchedulerLike,
  asyncScheduler,
  defer,
  identity,
  interval,
  map,
  takeUntil,
} from 'rxjs';
import { ConfigurationError } from '../core/errors.js';
import { lazyModule } from '../core/lazy-module.js';

/** cron-parser, loaded by the first `crontab` (most apps have none). */
const cronParser = lazyModule<typeof CronParser>('cron-parser');

/**
 * One firing of a timer.
 *
 * @example
 * ```ts
 * periodicTimer(60_000).subscribe(({ index, scheduledAt }) => console.log(`snapshot #${index} for ${scheduledAt.toISOString()}`));
 * ```
 */
export interface TimerTick {
  /** 0 for the first firing, then 1, 2… */
  readonly index: number;
  /** When the firing was due (it may run a little later, never earlier). */
  readonly scheduledAt: Date;
}

/**
 * Options shared by {@link periodicTimer} and {@link crontab}.
 *
 * @example
 * ```ts
 * const options: TimerOptions = { stop$: app.stopping$, scheduler: testScheduler };
 * ```
 */
export interface TimerOptions {
  /**
   * Where time comes from and where firings are scheduled: a `TestScheduler` makes timers testable
   * with marbles.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /** The timer completes when this emits (the app stopping). */
  readonly stop$?: Observable<unknown>;
}

/**
 * Options of {@link crontab}.
 *
 * @example
 * ```ts
 * crontab('0 9 * * 1-5', { timezone: 'Europe/Paris' }); // 9:00 in Paris on weekdays
 * ```
 */
export interface CrontabOptions extends TimerOptions {
  /**
   * IANA time zone the expression is read in.
   * @defaultValue 'UTC'
   */
  readonly timezone?: string;
}

/**
 * A cron expression (or its time zone) that cannot be parsed.
 *
 * @example
 * ```ts
 * crontab('61 * * * *'); // throws InvalidCronExpressionError
 * ```
 */
export class InvalidCronExpressionError extends ConfigurationError {
  constructor(
    readonly expression: string,
    cause: unknown,
  ) {
    super(
      `Invalid cron expression "${expression}": ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** Timers in Node fire at once when asked to wait longer than this: longer waits go in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Fires every `periodMs` milliseconds, the first time `periodMs` after subscription. Cold: each
 * subscriber has its own schedule; unsubscribing (or `stop$`) cancels it. A firing that comes while
 * the previous one's work is still running is not held back: use `exhaustMap` to skip it.
 *
 * @example
 * ```ts
 * periodicTimer(60_000, { stop$ })
 *   .pipe(exhaustMap(() => snapshots.send(table.snapshot())))
 *   .subscribe();
 * ```
 */
export function periodicTimer(periodMs: number, options: TimerOptions = {}): Observable<TimerTick> {
  if (!Number.isFinite(periodMs) || periodMs <= 0)
    throw new RangeError(`A timer period is a positive number of milliseconds, not ${periodMs}`);
  const scheduler = options.scheduler ?? asyncScheduler;
  return defer(() => {
    const start = scheduler.now();
    return interval(periodMs, scheduler).pipe(
      map((index): TimerTick => ({ index, scheduledAt: new Date(start + (index + 1) * periodMs) })),
    );
  }).pipe(until(options.stop$));
}

/**
 * Fires at the times a cron expression names: five fields (minute, hour, day of month, month, day of
 * week) or six (seconds first), read in `timezone` (UTC unless told), as the `cron-parser` library reads
 * them. The expression is checked at once: a bad one throws {@link InvalidCronExpressionError}. A
 * firing missed because the process was busy is not made up: the next one is the next time after now.
 *
 * @example
 * ```ts
 * crontab('0 * * * *', { stop$ }).subscribe(({ scheduledAt }) => report(scheduledAt)); // every hour, on the hour
 * ```
 */
export function crontab(expression: string, options: CrontabOptions = {}): Observable<TimerTick> {
  const timezone = options.timezone ?? 'UTC';
  const scheduler = options.scheduler ?? asyncScheduler;
  const parse = (from: number) => {
    try {
      const times = cronParser().CronExpressionParser.parse(expression, {
        tz: timezone,
        currentDate: new Date(from),
      });
      return { next: () => times.next().getTime() };
    } catch (error) {
      throw new InvalidCronExpressionError(expression, error);
    }
  };
  try {
    parse(scheduler.now()).next(); // a bad time zone shows only when a date is computed
  } catch (error) {
    throw error instanceof InvalidCronExpressionError
      ? error
      : new InvalidCronExpressionError(expression, error);
  }
  return new Observable<TimerTick>((subscriber) => {
    const times = parse(scheduler.now());
    let index = 0;
    const waitFor = (due: number): void => {
      const delay = Math.min(MAX_DELAY_MS, Math.max(0, due - scheduler.now()));
      subscriber.add(
        scheduler.schedule(() => {
          if (scheduler.now() < due) return waitFor(due); // a long wait, in steps
          subscriber.next({ index: index++, scheduledAt: new Date(due) });
          let next = times.next();
          // Skip the times that passed while the firing ran (or the process was busy).
          while (next <= scheduler.now()) next = times.next();
          waitFor(next);
        }, delay),
      );
    };
    waitFor(times.next());
  }).pipe(until(options.stop$));
}

function until<T>(stop$: Observable<unknown> | undefined): MonoTypeOperatorFunction<T> {
  return stop$ ? takeUntil(stop$) : identity;
}
