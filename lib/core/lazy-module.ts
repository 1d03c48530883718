import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded the first time it is used, not when rivulet is imported: for the ones
 * most apps never touch (cron-parser, prom-client) or replace (pino, when a logger is given), whose
 * code would otherwise take several MiB of every process's memory.
 *
 * @example
 * ```ts
 * import type * as PromClient from 'prom-client';
 * const promClient = lazyModule<typeof PromClient>('prom-client');
 * const registry = new (promClient().Registry)();
 * ```
 * @internal
 */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
