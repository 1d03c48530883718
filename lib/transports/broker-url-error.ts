import { ConfigurationError } from '../core/errors.js';

/**
 * A broker URL rivulet cannot use. The message says what is wrong ("missing '//' after kafka:",
 * "password must be URL-encoded: found '/'", "bad %-escape at position 3 of the password") and never
 * repeats the URL or any part of its credentials.
 *
 * @example
 * ```ts
 * try {
 *   createApp({ id: 'orders', broker: 'kafka:/alice:pw@k1:9092' });
 * } catch (error) {
 *   if (error instanceof BrokerUrlError) console.error(error.message); // Bad broker URL: missing '//' after kafka: …
 * }
 * ```
 */
export class BrokerUrlError extends ConfigurationError {
  /** What is wrong, without the URL. */
  readonly problem: string;

  constructor(problem: string) {
    super(`Bad broker URL: ${problem}`);
    this.problem = problem;
  }
}
