import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** File names Node cannot run without a TypeScript loader. */
const TYPESCRIPT = /\.[cm]?tsx?$/i;

/**
 * Whether a module path is TypeScript (`.ts`, `.mts`, `.cts`, `.tsx`).
 *
 * @example
 * ```ts
 * isTypeScript('app.ts'); // true
 * ```
 * @internal
 */
export function isTypeScript(path: string): boolean {
  return TYPESCRIPT.test(path);
}

/** The tsx a user's project has installed: its version and the files of its ESM and CommonJS APIs. */
interface FoundTsx {
  readonly version: string;
  /** `tsx/esm/api` (ESM build), absent in versions too old to have it. */
  readonly esmApi: string | undefined;
  readonly cjsApi: string | undefined;
}

/**
 * Finds tsx as the user's project would: from each directory in turn (the app module's, then the working
 * directory), walking up through `node_modules` as `require` does. @internal
 */
export function findTsx(directories: readonly string[]): FoundTsx | undefined {
  for (const directory of directories) {
    const require = createRequire(join(directory, 'package.json'));
    let manifest: string;
    try {
      manifest = require.resolve('tsx/package.json');
    } catch {
      continue;
    }
    const { version, exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      version: string;
      exports?: Record<string, { import?: { default?: string } | string } | undefined>;
    };
    const esm = exports?.['./esm/api']?.import;
    const esmFile = typeof esm === 'string' ? esm : esm?.default;
    let cjsApi: string | undefined;
    try {
      cjsApi = require.resolve('tsx/cjs/api');
    } catch {
      cjsApi = undefined;
    }
    return { version, esmApi: esmFile ? join(dirname(manifest), esmFile) : undefined, cjsApi };
  }
  return undefined;
}

/** What {@link registerTsx} did: registered the user's tsx, or why it could not. @internal */
export type TsxRegistration =
  { readonly registered: true } | { readonly registered: false; readonly why: string };

let registration: Promise<TsxRegistration> | undefined;

/**
 * Registers the user's tsx (ESM and CommonJS hooks, as `node --import tsx` does) so that `.ts` app modules
 * can be imported; once per process. Says why not when no usable tsx is installed. @internal
 */
export function registerTsx(directories: readonly string[]): Promise<TsxRegistration> {
  registration ??= (async (): Promise<TsxRegistration> => {
    const tsx = findTsx(directories);
    if (!tsx) return { registered: false, why: 'tsx is not installed in your project' };
    if (!tsx.esmApi) return { registered: false, why: `tsx ${tsx.version} is too old (no tsx/esm/api)` };
    const esm = (await import(pathToFileURL(tsx.esmApi).href)) as { register: () => unknown };
    esm.register();
    if (tsx.cjsApi) {
      const cjs = createRequire(tsx.cjsApi)(tsx.cjsApi) as { register?: () => unknown };
      cjs.register?.();
    }
    return { registered: true };
  })();
  return registration;
}
