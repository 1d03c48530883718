import { RivuletError } from '../core/errors.js';

/**
 * A codec was given a value it cannot encode, e.g. a `Buffer` sent through a `json()` topic (JSON would
 * turn it into `{"type":"Buffer","data":[…]}`). Never retried: the same value fails the same way.
 *
 * @example
 * ```ts
 * await events.send(Buffer.from('x')).catch((error) => error instanceof EncodeError); // true for json()
 * ```
 */
export class EncodeError extends RivuletError {
  override readonly retriable = false;

  /**
   * @param codec the codec's name (`json`, …)
   * @param reason what is wrong with the value, and what to do instead
   */
  constructor(
    readonly codec: string,
    reason: string,
  ) {
    super(`The ${codec} codec cannot encode this value: ${reason}`);
  }
}
