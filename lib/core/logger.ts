import type * as Pino from 'pino';
import type { SerializedError } from 'pino';
import { lazyModule } from './lazy-module.js';
import { redactText } from './redact.js';

/** pino, loaded by the first default logger or serialized error (not when the app brings its own logger). */
const pino = lazyModule<typeof Pino>('pino');

/**
 * What rivulet logs through: pino's shape (`logger.warn({ topic }, 'message')`), so a pino logger, or
 * anything with these four methods, can be passed to `createApp({ logger })`.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'feed', logger: pino({ level: 'debug' }) });
 * ```
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/**
 * rivulet's default logger: pino to stdout, at the level in `RIVULET_LOG_LEVEL` (default `info`).
 *
 * @example
 * ```ts
 * const logger = defaultLogger('orders');
 * ```
 */
export function defaultLogger(appId: string): Logger {
  return pino().pino({
    name: appId,
    level: process.env.RIVULET_LOG_LEVEL ?? 'info',
    serializers: logSerializers,
  });
}

/**
 * pino serializers for the fields rivulet logs errors under (`err`, `error`): pino's error serializer
 * (class name, message, stack, the cause nested as `cause`), with credentials masked in every string of it
 * (see {@link redactText}). {@link defaultLogger} uses them; pass them to your own pino logger too.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'orders', logger: pino({ serializers: logSerializers }) });
 * ```
 */
export const logSerializers: Readonly<Record<'err' | 'error', (value: unknown) => unknown>> = {
  err: serializeError,
  error: serializeError,
};

function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return typeof value === 'string' ? redactText(value) : value;
  // errWithCause keeps each message as it is and nests the cause (err would append the causes' text to a
  // message that usually quotes it already, so it showed twice)
  return redactStrings(pino().stdSerializers.errWithCause(value), 0);
}

function redactStrings(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value as SerializedError))
    copy[name] = redactStrings(field, depth + 1);
  return copy;
}

/**
 * A logger that drops everything, for tests.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'test', logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
