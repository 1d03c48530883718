import { Observable, type SchedulerLike, asyncScheduler, defer, from, map, throwError, timeout } from 'rxjs';
import { type RetryPolicy, retryWithBackoff } from '../../core/retry.js';
import type { HttpClientLike, HttpRequestConfig, HttpResponseLike } from './http-client.js';
import { HttpTimeoutError, statusError, toHttpError } from './http-errors.js';

/**
 * How one HTTP call is made: timeout, retries, scheduler.
 *
 * @example
 * ```ts
 * const options: HttpCallOptions = { timeoutMs: 2000, retry: { retries: 3 } };
 * httpCall(prices, { url: '/quote/ACME' }, options).subscribe(console.log);
 * ```
 */
export interface HttpCallOptions {
  /** Time allowed per attempt before it is aborted, in ms (default 10 000). */
  readonly timeoutMs?: number;
  /**
   * Retries of one request (default 5, backoff from 200 ms up to 10 s with jitter) on network errors,
   * timeouts, 5xx, 408 and 429 (waiting at least what `Retry-After` asks). Other 4xx are not retried.
   */
  readonly retry?: RetryPolicy;
  /** Scheduler of timeouts and retry delays (for virtual time in tests). */
  readonly scheduler?: SchedulerLike;
}

const DEFAULT_RETRY: RetryPolicy = { retries: 5, backoff: { initialDelayMs: 200, maxDelayMs: 10_000 } };

/**
 * One HTTP call as a cold Observable: each attempt gets an `AbortSignal` (aborted on timeout or
 * unsubscribe), failures become named errors ({@link HttpStatusError}, {@link HttpTimeoutError},
 * {@link HttpNetworkError}), and retriable ones are retried with backoff.
 *
 * @example
 * ```ts
 * httpCall(axios.create(), { url: 'http://prices/quote/ACME' }, { timeoutMs: 2000 }).subscribe(console.log);
 * ```
 */
export function httpCall(
  client: HttpClientLike,
  request: HttpRequestConfig,
  options: HttpCallOptions = {},
): Observable<HttpResponseLike> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return defer(() => attempt(client, request, scheduler)).pipe(
    timeout({
      first: timeoutMs,
      scheduler,
      with: () => throwError(() => new HttpTimeoutError(timeoutMs, request)),
    }),
    retryWithBackoff(options.retry ?? DEFAULT_RETRY, scheduler),
  );
}

function attempt(
  client: HttpClientLike,
  request: HttpRequestConfig,
  scheduler: SchedulerLike,
): Observable<HttpResponseLike> {
  return new Observable<HttpResponseLike>((subscriber) => {
    const controller = new AbortController();
    let settled = false;
    const subscription = from(client.request({ ...request, signal: controller.signal }))
      .pipe(
        map((response) => {
          if (response.status >= 300) throw statusError(response.status, request, response, scheduler.now());
          return response;
        }),
      )
      .subscribe({
        next: (response) => subscriber.next(response),
        error: (error: unknown) => {
          settled = true;
          subscriber.error(toHttpError(error, request, scheduler.now()));
        },
        complete: () => {
          settled = true;
          subscriber.complete();
        },
      });
    return () => {
      subscription.unsubscribe();
      if (!settled) controller.abort();
    };
  });
}
