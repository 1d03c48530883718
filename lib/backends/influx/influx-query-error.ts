import { RivuletError } from '../../core/errors.js';

/**
 * An InfluxDB query failed: the server answered an error status, reported an error for the statement
 * (a bad query: not retriable), or could not be reached (retriable).
 *
 * @example
 * ```ts
 * if (error instanceof InfluxQueryError && !error.retriable) console.error('bad query', error.message);
 * ```
 */
export class InfluxQueryError extends RivuletError {
  override readonly retriable: boolean;

  constructor(
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status: number | undefined,
    options?: ErrorOptions & { readonly retriable?: boolean },
  ) {
    super(message, options);
    this.retriable =
      options?.retriable ?? (status === undefined || status >= 500 || status === 429 || status === 408);
  }
}
