import { RivuletError } from '../core/errors.js';

/**
 * A transport was used after `close()` (and before a new `connect()`): it does not open new
 * connections behind the caller's back, whose sockets and timers would keep a stopped worker alive.
 *
 * @example
 * ```ts
 * await transport.close();
 * await transport.endOffsets('orders'); // rejects: TransportClosedError
 * ```
 */
export class TransportClosedError extends RivuletError {
  override readonly retriable = false;

  constructor(description: string) {
    super(`The transport ${description} is closed`);
  }
}
