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

/**
 * `send` or `tail` was pointed at `memory://`, which lives inside one process: nothing another process
 * wrote is there, and nothing written there outlives the command. The message says how to name a shared
 * broker. Exits with code 2, like a usage error.
 *
 * @example
 * ```ts
 * requireSharedBroker('tail', 'memory://'); // throws SharedBrokerRequiredError
 * ```
 */
export class SharedBrokerRequiredError extends CliUsageError {}

/**
 * An app module is TypeScript and no TypeScript loader is there to run it: the message says what to
 * install (`npm install -D tsx`) or to build the module to JavaScript. Exits with code 2.
 *
 * @example
 * ```ts
 * await loadApp('app.ts').catch((error) => error instanceof TypeScriptLoaderMissingError);
 * ```
 */
export class TypeScriptLoaderMissingError extends AppModuleError {}
