import { RivuletError } from '../core/errors.js';
import { redactError, redactText } from '../core/redact.js';

/** Options of {@link errorLine}. @internal */
export interface ErrorLineOptions {
  /** Add the stack (and causes') after the line: `--verbose` or `RIVULET_DEBUG`. */
  readonly verbose?: boolean;
  /** Failed connection attempts seen in the client's log, when the error does not say. */
  readonly failedConnections?: number;
}

/** The error and its causes, outermost first (a few levels). */
function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let current = error; current !== undefined && errors.length < 6;) {
    errors.push(current);
    current = current instanceof Error ? (current as { cause?: unknown }).cause : undefined;
  }
  return errors;
}

function named(errors: readonly unknown[], name: string): (Error & Record<string, unknown>) | undefined {
  return errors.find(
    (error): error is Error & Record<string, unknown> => error instanceof Error && error.name === name,
  );
}

/**
 * "cannot reach kafka at host:port: <why> (after n attempts)" when kafkajs gave up connecting, else undefined.
 */
function unreachableKafka(
  errors: readonly unknown[],
  failedConnections: number | undefined,
): string | undefined {
  const connection = named(errors, 'KafkaJSConnectionError');
  if (!connection) return undefined;
  const broker = typeof connection.broker === 'string' ? connection.broker : undefined;
  const retries = errors.find(
    (error): error is Error & { retryCount: number } =>
      error instanceof Error && typeof (error as { retryCount?: unknown }).retryCount === 'number',
  );
  const attempts = retries ? retries.retryCount + 1 : failedConnections;
  let reason = connection.message;
  if (broker && reason.endsWith(` ${broker}`)) reason = reason.slice(0, -broker.length - 1);
  const where = broker ? ` at ${broker}` : '';
  return `cannot reach kafka${where}: ${reason}${attempts && attempts > 1 ? ` (after ${attempts} attempts)` : ''}`;
}

/**
 * What the CLI prints for an error that ended a command: one readable line (credentials masked), with
 * kafkajs's connection failures said as "cannot reach kafka at …", and the stack only when `verbose`.
 *
 * @example
 * ```ts
 * process.stderr.write(`rivulet: ${errorLine(error, { verbose: process.env.RIVULET_DEBUG !== undefined })}\n`);
 * ```
 * @internal
 */
export function errorLine(error: unknown, options: ErrorLineOptions = {}): string {
  const errors = chain(error);
  const text =
    unreachableKafka(errors, options.failedConnections) ??
    (error instanceof RivuletError || (error instanceof Error && error.name === 'Error')
      ? error.message
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error));
  const line = redactText(text.replace(/\s*\n\s*/g, ' ').trim());
  if (!options.verbose) return line;
  return `${line}\n${stackOf(redactError(error))}`;
}

function stackOf(error: ReturnType<typeof redactError>): string {
  const own = error.stack ?? `${error.name}: ${error.message}`;
  return error.cause ? `${own}\ncaused by: ${stackOf(error.cause)}` : own;
}
