import { pino } from 'pino';

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
  return pino({ name: appId, level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
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
