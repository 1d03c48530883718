import { RivuletError } from '../../core/errors.js';
import type { HttpRequestConfig } from './http-client.js';
import { headerValue, parseRetryAfter } from './retry-after.js';

const describe = (request: HttpRequestConfig): string =>
  `${(request.method ?? 'GET').toUpperCase()} ${request.url ?? '/'}`;

/**
 * The server answered with an error status. Retriable for 5xx, 429 and 408, with `retryAfterMs` from
 * the `Retry-After` header when given; not retriable for other statuses (4xx): the agent then
 * dead-letters the message instead of retrying it.
 *
 * @example
 * ```ts
 * if (error.cause instanceof HttpStatusError && error.cause.status === 409) console.log('duplicate');
 * ```
 */
export class HttpStatusError extends RivuletError {
  override readonly retriable: boolean;

  constructor(
    readonly status: number,
    request: HttpRequestConfig,
    /** The least delay the server asked for before a retry. */
    readonly retryAfterMs?: number,
    /** The response body, when there was one. */
    readonly body?: unknown,
    options?: ErrorOptions,
  ) {
    super(`${describe(request)} answered ${status}`, options);
    this.retriable = status >= 500 || status === 429 || status === 408;
  }
}

/**
 * The server did not answer within the timeout; the request was aborted. Retriable.
 *
 * @example
 * ```ts
 * if (error.cause instanceof HttpTimeoutError) console.log(error.cause.timeoutMs);
 * ```
 */
export class HttpTimeoutError extends RivuletError {
  constructor(
    readonly timeoutMs: number,
    request: HttpRequestConfig,
    options?: ErrorOptions,
  ) {
    super(`${describe(request)} got no answer within ${timeoutMs} ms`, options);
  }
}

/**
 * The request got no response at all (connection refused or reset, DNS failure…). Retriable.
 *
 * @example
 * ```ts
 * if (error.cause instanceof HttpNetworkError) console.log(error.cause.code); // 'ECONNREFUSED'
 * ```
 */
export class HttpNetworkError extends RivuletError {
  constructor(
    /** The system or axios error code, e.g. `ECONNRESET`. */
    readonly code: string | undefined,
    request: HttpRequestConfig,
    options?: ErrorOptions,
  ) {
    super(`${describe(request)} failed: ${code ?? 'network error'}`, options);
  }
}

interface AxiosLikeError {
  readonly code?: unknown;
  readonly isAxiosError?: unknown;
  readonly response?: { readonly status?: unknown; readonly headers?: unknown; readonly data?: unknown };
}

/**
 * Turns what an axios-shaped client threw into rivulet's named HTTP errors; anything else (a bug in the
 * caller's own code, say) is returned as it is.
 * @internal
 */
export function toHttpError(error: unknown, request: HttpRequestConfig, nowMs: number): unknown {
  if (typeof error !== 'object' || error === null || error instanceof RivuletError) return error;
  const candidate = error as AxiosLikeError;
  const status = candidate.response?.status;
  if (typeof status === 'number') return statusError(status, request, candidate.response, nowMs, error);
  const code = typeof candidate.code === 'string' ? candidate.code : undefined;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT')
    return new HttpTimeoutError(Number((request as { timeout?: unknown }).timeout) || 0, request, {
      cause: error,
    });
  if (candidate.isAxiosError === true || code !== undefined)
    return new HttpNetworkError(code, request, { cause: error });
  return error;
}

/** The error for a response with an error status. @internal */
export function statusError(
  status: number,
  request: HttpRequestConfig,
  response: { readonly headers?: unknown; readonly data?: unknown } | undefined,
  nowMs: number,
  cause?: unknown,
): HttpStatusError {
  const retryAfterMs = parseRetryAfter(headerValue(response?.headers, 'retry-after'), nowMs);
  return new HttpStatusError(
    status,
    request,
    retryAfterMs,
    response?.data,
    cause === undefined ? undefined : { cause },
  );
}
