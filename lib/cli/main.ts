#!/usr/bin/env node
/**
 * The `rivulet` executable: `rivulet worker <app module>`, `rivulet send <topic> <json>`,
 * `rivulet tail <topic>`. Run `rivulet --help`.
 * @module
 */
import { CommanderError } from 'commander';
import { ConfigurationError } from '../core/errors.js';
import { AppModuleError, CliUsageError } from './cli-errors.js';
import { errorLine } from './error-line.js';
import { rivuletProgram } from './program.js';

/** Milliseconds the process may linger after a command ends (open handles left by an app) before it is ended. */
const EXIT_GRACE_MS = 2000;

/** `--verbose` or `RIVULET_DEBUG`: stacks with errors, and every client log line. */
const verbose = process.argv.includes('--verbose') || Boolean(process.env.RIVULET_DEBUG);

let finished = false;
// A command whose promise can no longer settle (nothing left for it to wait on) would otherwise end the
// process silently; say so and fail.
process.once('exit', () => {
  if (finished) return;
  process.stderr.write(
    'rivulet: the command stopped before it finished: nothing was left for it to wait on\n',
  );
  process.exitCode = 1;
});

rivuletProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // help, --version (exit 0) and commander's usage errors (exit 1): commander printed them already
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    const usage =
      error instanceof CliUsageError ||
      error instanceof AppModuleError ||
      error instanceof ConfigurationError;
    process.stderr.write(`rivulet: ${errorLine(error, { verbose })}\n`);
    process.exitCode = usage ? 2 : 1;
  })
  .finally(() => {
    finished = true;
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  });
