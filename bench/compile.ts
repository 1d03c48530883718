/**
 * Compiling a bench's code with tsc into a temporary folder, run there by plain `node`: what a user's
 * app runs (a build of the package), without tsx, whose esbuild transform wraps every function created
 * on a hot path in a naming helper and whose cache takes tens of MiB of a process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** This checkout. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A temporary folder (name starting with `prefix`) where compiled code runs as ESM and resolves this
 * checkout's node_modules.
 */
export function workFolder(prefix: string): string {
  const work = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  return work;
}

/** Compiles `include` (absolute paths under `rootDir`) to `outDir` with this checkout's compiler settings. */
export async function compile(rootDir: string, include: readonly string[], outDir: string): Promise<void> {
  const config = join(outDir, '..', `tsconfig.${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: false,
        rootDir,
        outDir,
        declaration: false,
        sourceMap: false,
        types: ['node'],
      },
      include,
    }),
  );
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], {
    maxBuffer: 16 << 20,
  });
}

/** How a bench runs its readers (see {@link readerScript}). */
export interface ReaderScript {
  /** The arguments of `node` that run the bench as a reader. */
  readonly args: string[];
  /** The temporary folder of the compiled code (undefined under tsx): {@link ReaderScript.remove} it at the end. */
  readonly work: string | undefined;
  /** Deletes the temporary folder, if any. */
  remove(): void;
}

/**
 * The script a bench's readers run: this checkout's `lib` and the bench compiled with tsc into a
 * temporary folder (`<work>/self`), run by plain node as an app runs the package; or, with
 * BENCH_SOURCE=1, the bench's source under tsx.
 */
export async function readerScript(benchUrl: string, prefix: string): Promise<ReaderScript> {
  const bench = fileURLToPath(benchUrl);
  if (process.env.BENCH_SOURCE === '1')
    return { args: ['--import', 'tsx', bench], work: undefined, remove: () => {} };
  const work = workFolder(prefix);
  await compile(ROOT, [join(ROOT, 'lib'), bench], join(work, 'self'));
  return {
    args: [join(work, 'self', relative(ROOT, bench).replace(/\.ts$/, '.js'))],
    work,
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}
