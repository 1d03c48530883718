/**
 * What an agent does with a record whose processing failed (an operator threw, a sink rejected it, its
 * bytes could not be decoded): retry it through the pipeline with backoff, then dead-letter it or stop.
 */

/**
 * Exponential backoff with full jitter.
 *
 * @example
 * ```ts
 * const backoff: Backoff = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 3 };
 * app.agent('confirm', orders, pipeline, { errors: { retries: 5, backoff } });
 * ```
 */
export interface Backoff {
  /** First delay in ms (default 200). */
  readonly initialDelayMs?: number;
  /** Largest delay in ms (default 10 000). */
  readonly maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Randomize each delay between half and all of it (default true). */
  readonly jitter?: boolean;
  /**
   * Where the jitter's randomness comes from: a function returning a number in [0, 1). Fix it in a marble
   * test (`random: () => 0.5`, or a seeded generator) and every retry lands on the same virtual frame run
   * after run.
   * @defaultValue Math.random
   */
  readonly random?: () => number;
}

/**
 * An agent's error policy.
 *
 * @example
 * ```ts
 * app.agent('confirm', orders, pipeline, {
 *   errors: { retries: 5, backoff: { initialDelayMs: 500 }, onFailure: 'dead-letter', deadLetterTopic: 'orders.failed' },
 * });
 * ```
 */
export interface ErrorPolicy {
  /** Times a failed record is sent through the pipeline again (default 3). Decode errors and errors with `retriable: false` are not retried. */
  readonly retries?: number;
  readonly backoff?: Backoff;
  /**
   * When retries are exhausted: `'dead-letter'` (default) produces the original record to the
   * dead-letter topic with the error in its headers, then settles it; `'stop'` stops the app without
   * committing past the record.
   */
  readonly onFailure?: 'dead-letter' | 'stop';
  /** Dead-letter topic (default `<source topic>.dlq`). */
  readonly deadLetterTopic?: string;
}

/**
 * The delay before attempt number `attempt` (1 for the first retry). The jitter's randomness is `random`,
 * else the backoff's own `random`, else `Math.random`.
 *
 * @example
 * ```ts
 * backoffDelay({ initialDelayMs: 100, jitter: false }, 3); // 400
 * backoffDelay({ initialDelayMs: 100, random: () => 0.5 }, 3); // 300: between 200 and 400, always the same
 * ```
 */
export function backoffDelay(
  backoff: Backoff,
  attempt: number,
  random: () => number = backoff.random ?? Math.random,
): number {
  const initial = backoff.initialDelayMs ?? 200;
  const max = backoff.maxDelayMs ?? 10_000;
  const factor = backoff.factor ?? 2;
  const delay = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return backoff.jitter === false ? delay : delay / 2 + (random() * delay) / 2;
}

/**
 * Whether an error may go away on retry: anything but errors that say `retriable: false` (decode and
 * validation errors, HTTP 4xx…).
 *
 * @example
 * ```ts
 * isRetriable(new DecodeError(position, 'value', cause)); // false
 * ```
 */
export function isRetriable(error: unknown): boolean {
  return !(
    typeof error === 'object' &&
    error !== null &&
    (error as { retriable?: unknown }).retriable === false
  );
}
