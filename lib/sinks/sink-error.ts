import { isRetriable } from '../core/error-policy.js';
import { RivuletError } from '../core/errors.js';

/**
 * A sink's write failed for good (after the sink's own retries). Retriable at the agent level when its
 * cause is.
 *
 * @example
 * ```ts
 * if (error instanceof SinkError) console.log(error.sink, error.attempts, error.cause);
 * ```
 */
export class SinkError extends RivuletError {
  override readonly retriable: boolean;

  constructor(
    readonly sink: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${sink} write failed after ${attempts} attempt(s): ${reason}`, { cause });
    this.retriable = isRetriable(cause);
  }
}

/**
 * One attempt of a sink's write took longer than the sink's `timeoutMs`. Retriable.
 *
 * @example
 * ```ts
 * sink(write, { name: 'postgres', timeoutMs: 5000 }); // an attempt over 5 s fails with SinkTimeoutError
 * ```
 */
export class SinkTimeoutError extends RivuletError {
  constructor(
    readonly sink: string,
    readonly timeoutMs: number,
  ) {
    super(`${sink} write took longer than ${timeoutMs} ms`);
  }
}
