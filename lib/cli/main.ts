#!/usr/bin/env node
/**
 * The `rivulet` executable: `rivulet worker <app module>`, `rivulet send <topic> <json>`,
 * `rivulet tail <topic>`. Run `rivulet --help`.
 * @module
 */
import { ConfigurationError, RivuletError } from '../core/errors.js';
import { AppModuleError, CliUsageError } from './cli-errors.js';
import { rivuletProgram } from './program.js';

/** Milliseconds the process may linger after a command ends (open handles left by an app) before it is ended. */
const EXIT_GRACE_MS = 2000;

try {
  await rivuletProgram().parseAsync(process.argv);
} catch (error) {
  const usage =
    error instanceof CliUsageError || error instanceof AppModuleError || error instanceof ConfigurationError;
  process.stderr.write(`rivulet: ${error instanceof RivuletError ? error.message : String(error)}\n`);
  if (!usage && !(error instanceof RivuletError) && error instanceof Error)
    process.stderr.write(`${error.stack}\n`);
  process.exitCode = usage ? 2 : 1;
}
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
