import { RivuletError } from '../../core/errors.js';

/**
 * InfluxDB refused or did not answer a write. Retriable for network errors, timeouts, 5xx, 408 and 429
 * (with `retryAfterMs` when the server asked); not for other 4xx (bad line protocol, unknown database,
 * no permission): the agent dead-letters those messages.
 *
 * @example
 * ```ts
 * if (error.cause instanceof InfluxWriteError) console.log(error.cause.status);
 * ```
 */
export class InfluxWriteError extends RivuletError {
  override readonly retriable: boolean;

  constructor(
    /** The HTTP status, when the server answered. */
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`InfluxDB write failed${status ? ` (${status})` : ''}: ${reason}`, { cause });
    this.retriable = status === undefined || status >= 500 || status === 429 || status === 408;
  }

  /** Reads the client's `HttpError` (`statusCode`, `retryAfter()` in seconds) or a network error. */
  static from(error: unknown): InfluxWriteError {
    if (error instanceof InfluxWriteError) return error;
    const source = (typeof error === 'object' && error !== null ? error : {}) as {
      statusCode?: unknown;
      retryAfter?: unknown;
    };
    const status = typeof source.statusCode === 'number' ? source.statusCode : undefined;
    const after = typeof source.retryAfter === 'function' ? Number(source.retryAfter()) : 0;
    return new InfluxWriteError(status, after > 0 ? after * 1000 : undefined, error);
  }
}
