import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from '../core/app.js';
import { AppModuleError } from './cli-errors.js';

/** What the worker needs of an app: an {@link App}, or one from another copy of rivulet. @internal */
export type WorkerApp = Pick<App, 'id' | 'agents' | 'failure' | 'run' | 'stop' | 'transport' | 'logger'>;

/**
 * Whether a value is an App: an instance of this rivulet's `App`, or one that looks like it (an app
 * module may import another copy of rivulet, e.g. the built package while the CLI runs from source).
 *
 * @example
 * ```ts
 * if (isApp(module.default)) await module.default.run();
 * ```
 */
export function isApp(value: unknown): value is WorkerApp {
  if (value instanceof App) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.id === 'string' &&
    Array.isArray(candidate.agents) &&
    typeof candidate.run === 'function' &&
    typeof candidate.stop === 'function' &&
    typeof candidate.transport === 'function'
  );
}

/**
 * Imports an app module (a path relative to `cwd`) and returns its App: the default export, or else the
 * export named `app`. The module should declare topics and agents, not start them.
 *
 * @example
 * ```ts
 * const app = await loadApp('samples/feed-cache.ts');
 * await app.run();
 * ```
 */
export async function loadApp(modulePath: string, cwd: string = process.cwd()): Promise<WorkerApp> {
  const url = pathToFileURL(resolve(cwd, modulePath)).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppModuleError(`Cannot load the app module ${modulePath}: ${reason}`, { cause: error });
  }
  const app = [module.default, module.app].find(isApp);
  if (!app) {
    throw new AppModuleError(
      `${modulePath} exports no App: export it as default (export default app) or as \`app\``,
    );
  }
  return app;
}
