import { RivuletError } from '../../core/errors.js';

/**
 * A pipeline's `exec()` resolved to `null` (a `MULTI` transaction aborted by `WATCH`): nothing was
 * written. Retriable.
 *
 * @example
 * ```ts
 * if (error.cause instanceof RedisExecAbortedError) metrics.aborted.inc();
 * ```
 */
export class RedisExecAbortedError extends RivuletError {
  constructor() {
    super('Redis pipeline exec() returned null: the transaction was aborted, nothing was written');
  }
}
