import {
  type MonoTypeOperatorFunction,
  type SchedulerLike,
  defer,
  lastValueFrom,
  retry,
  throwError,
  timer,
} from 'rxjs';
import { type Backoff, backoffDelay, isRetriable } from './error-policy.js';

/**
 * How an operation is retried: how often, how long to wait, and which errors are worth it.
 *
 * @example
 * ```ts
 * const policy: RetryPolicy = { retries: 5, backoff: { initialDelayMs: 100, maxDelayMs: 2000 } };
 * defer(() => client.write(lines)).pipe(retryWithBackoff(policy));
 * ```
 */
export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  readonly retries?: number;
  readonly backoff?: Backoff;
  /** Whether an error is worth retrying (default: unless it says `retriable: false`). */
  readonly retriable?: (error: unknown) => boolean;
}

/**
 * The least delay an error asks for before the next attempt: its `retryAfterMs` (set from an HTTP
 * `Retry-After` header, for instance), or 0.
 */
function requestedDelay(error: unknown): number {
  const value =
    typeof error === 'object' && error !== null
      ? (error as { retryAfterMs?: unknown }).retryAfterMs
      : undefined;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Resubscribes to the source when it errors with a retriable error, after an exponential backoff with
 * jitter (from `policy.backoff.random`) on `scheduler` (never shorter than an error's `retryAfterMs`);
 * other errors, and the last one, pass through. Unsubscribing cancels a pending delay.
 *
 * @example
 * ```ts
 * defer(() => client.write(lines)).pipe(retryWithBackoff({ retries: 5, backoff: { initialDelayMs: 100 } }));
 * ```
 */
export function retryWithBackoff<T>(
  policy: RetryPolicy = {},
  scheduler?: SchedulerLike,
): MonoTypeOperatorFunction<T> {
  const retriable = policy.retriable ?? isRetriable;
  const backoff = policy.backoff ?? {};
  return retry<T>({
    count: policy.retries ?? 3,
    delay: (error: unknown, retryCount) =>
      retriable(error)
        ? timer(Math.max(backoffDelay(backoff, retryCount), requestedDelay(error)), scheduler)
        : throwError(() => error),
  });
}

/**
 * Runs `attempt` until it resolves, retrying a retriable rejection as {@link retryWithBackoff} does; the
 * last rejection passes through.
 *
 * @example
 * ```ts
 * const ends = await withRetries(() => transport.endOffsets(topic), { retries: 8 });
 * ```
 */
export function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  return lastValueFrom(defer(attempt).pipe(retryWithBackoff<T>(policy)));
}
