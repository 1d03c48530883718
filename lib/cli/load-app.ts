import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from '../app/app.js';
import { AppModuleError, TypeScriptLoaderMissingError } from './cli-errors.js';
import { isTypeScript, registerTsx } from './typescript-loader.js';

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
 * export named `app`. The module should declare topics and agents, not start them. A TypeScript module
 * runs under the tsx installed in the user's project (found from the module's directory, then `cwd`);
 * without one, the error says what to install.
 *
 * @example
 * ```ts
 * const app = await loadApp('samples/feed-cache.ts');
 * await app.run();
 * ```
 */
export async function loadApp(modulePath: string, cwd: string = process.cwd()): Promise<WorkerApp> {
  const file = resolve(cwd, modulePath);
  let module: Record<string, unknown>;
  try {
    module = await importModule(modulePath, file, cwd);
  } catch (error) {
    if (error instanceof AppModuleError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppModuleError(`Cannot load the app module ${modulePath}: ${reason}`, { cause: error });
  }
  // A CommonJS module compiled by tsx puts its exports under `default`.
  const nested = typeof module.default === 'object' && module.default !== null ? module.default : {};
  const { default: nestedDefault, app: nestedApp } = nested as Record<string, unknown>;
  const app = [module.default, module.app, nestedDefault, nestedApp].find(isApp);
  if (!app) {
    throw new AppModuleError(
      `${modulePath} exports no App: export it as default (export default app) or as \`app\``,
    );
  }
  return app;
}

async function importModule(modulePath: string, file: string, cwd: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (!isTypeScript(file)) return (await import(url)) as Record<string, unknown>;
  const tsx = await registerTsx([dirname(file), cwd]);
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    // Without tsx, Node (before type stripping) refuses the extension: say what to install.
    if (tsx.registered || (error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    throw new TypeScriptLoaderMissingError(
      `${modulePath} is TypeScript, and ${tsx.why}: run \`npm install -D tsx\` in your project, ` +
        'or build the module to JavaScript and pass the .js file',
      { cause: error },
    );
  }
}
