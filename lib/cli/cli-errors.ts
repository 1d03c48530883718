import { RivuletError } from '../core/errors.js';

/**
 * A command was given something it cannot use: bad JSON, a malformed header, a bad number. The CLI
 * prints the message and exits with code 2.
 *
 * @example
 * ```ts
 * throw new CliUsageError('Not JSON: {oops');
 * ```
 */
export class CliUsageError extends RivuletError {
  override readonly retriable = false;
}

/**
 * The module given to `rivulet worker` could not be loaded, or exports no App (as `default` or `app`).
 *
 * @example
 * ```ts
 * await loadApp('./missing.ts').catch((error) => error instanceof AppModuleError); // true
 * ```
 */
export class AppModuleError extends RivuletError {
  override readonly retriable = false;
}
