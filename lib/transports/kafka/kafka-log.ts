import { type LogEntry, type logCreator, logLevel } from 'kafkajs';
import type { Logger } from '../../core/logger.js';
import { MASK, redactText } from '../../core/redact.js';
import { kafkaLineLevel } from './kafka-log-level.js';

const SECRET_FIELD = /pass(word|phrase)?|secret|token|credential|authori[sz]ation|sasl|^key$|^cert$|^pfx$/i;

/**
 * A kafkajs `logCreator` that sends kafkajs's log lines to a rivulet {@link Logger} at the level of
 * what they mean ({@link kafkaLineLevel}: a rebalance is info, a retried request or connection debug,
 * what rivulet does not report itself keeps kafkajs's level); kafkajs's own level is kept in the
 * field `kafkaLevel`. Fields whose names look secret (password,
 * sasl, token…) are masked, and so is every occurrence of the given secret strings and anything that
 * looks like a URL's userinfo (see {@link redactText}), wherever it appears.
 *
 * @example
 * ```ts
 * new Kafka({ brokers, logCreator: kafkaLogCreator(app.logger, ['s3cret']), logLevel: logLevel.INFO });
 * ```
 */
export function kafkaLogCreator(logger: Logger, secrets: readonly string[] = []): logCreator {
  const mask = (text: string): string => redactText(text, secrets);
  return () => (entry: LogEntry) => {
    const { namespace, log } = entry;
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
    const fields = {
      client: 'kafkajs',
      namespace,
      kafkaLevel: entry.label,
      ...(redact(extra, mask, 0) as object),
    };
    logger[kafkaLineLevel(entry)](fields, mask(String(message)));
  };
}

/** The kafkajs log level that makes {@link kafkaLogCreator} see what it forwards. @internal */
export function kafkaLogLevel(debug: boolean): logLevel {
  return debug ? logLevel.DEBUG : logLevel.INFO;
}

function redact(value: unknown, mask: (text: string) => string, depth: number): unknown {
  if (typeof value === 'string') return mask(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 4) return '[…]';
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (value instanceof Error) return { name: value.name, message: mask(value.message) };
  if (Array.isArray(value)) return value.map((item) => redact(item, mask, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    copy[name] = SECRET_FIELD.test(name) ? MASK : redact(field, mask, depth + 1);
  }
  return copy;
}
