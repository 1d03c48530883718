import type { Logger } from '../core/logger.js';
import { redactText } from '../core/redact.js';

/** A kafkajs line that only says a connection attempt failed and will be retried. */
function isConnectionRetry(fields: object, message: string | undefined): boolean {
  const { client, namespace } = fields as { client?: unknown; namespace?: unknown };
  if (client !== 'kafkajs' || message === undefined) return false;
  if (namespace === 'Connection') return /^Connection (error|timeout)/.test(message);
  if (namespace === 'BrokerPool') return message.startsWith('Failed to connect to seed broker');
  return false;
}

/** The CLI's logger, from {@link cliLogger}. @internal */
export interface CliLogger extends Logger {
  /** Connection attempts that failed and were not printed (the final error says how many). */
  readonly failedConnections: number;
}

/**
 * The logger of the CLI's own clients (`send`, `tail`): one plain line per entry on stderr, so stdout
 * carries only results. Unless `verbose`, debug lines and kafkajs's own lines are not printed: kafkajs
 * logs every retried request and connection attempt, and what finally fails is the command's error
 * (which says after how many attempts; {@link CliLogger.failedConnections} counts them). Text is redacted.
 *
 * @example
 * ```ts
 * const logger = cliLogger({ verbose: false, write: (line) => process.stderr.write(line) });
 * const transport = await resolveTransport('kafka://127.0.0.1:9092', 'rivulet-cli', logger);
 * ```
 * @internal
 */
export function cliLogger(options: {
  readonly verbose: boolean;
  readonly write: (line: string) => void;
}): CliLogger {
  let failedConnections = 0;
  const line = (level: string, fields: object, message: string | undefined): void => {
    const { client, namespace } = fields as { client?: unknown; namespace?: unknown };
    const source =
      client === 'kafkajs' ? `kafka${typeof namespace === 'string' ? ` ${namespace}` : ''}: ` : '';
    const prefix = level === 'info' ? '' : `${level}: `;
    options.write(`rivulet: ${prefix}${source}${redactText(message ?? JSON.stringify(fields))}\n`);
  };
  const quietable =
    (level: 'info' | 'warn' | 'error') =>
    (fields: object, message?: string): void => {
      if (
        isConnectionRetry(fields, message) &&
        (fields as { namespace?: unknown }).namespace === 'Connection'
      ) {
        failedConnections++;
      }
      if (!options.verbose && (fields as { client?: unknown }).client === 'kafkajs') return;
      line(level, fields, message);
    };
  return {
    get failedConnections() {
      return failedConnections;
    },
    debug: (fields, message) => {
      if (options.verbose) line('debug', fields, message);
    },
    info: quietable('info'),
    warn: quietable('warn'),
    error: quietable('error'),
  };
}
