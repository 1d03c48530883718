import { type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * Running npm and programs in a user's project, as a user would (the packaging specs).
 *
 * @example
 * ```ts
 * await npm(project, 'install', tarball);
 * const { code, stdout } = await run(project, process.execPath, ['app.mjs']);
 * ```
 */

/** The environment without the npm settings of the npm that may be running these tests. */
export function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

/** `npm <args>` in `cwd`, from the cache where it can; rejects with npm's stderr when it fails. */
export async function npm(cwd: string, ...args: string[]): Promise<string> {
  const result = await run(cwd, 'npm', [...args, '--prefer-offline', '--no-audit', '--no-fund']);
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** Runs a program in `cwd` with the user's environment; resolves with its exit code and output. */
export async function run(
  cwd: string,
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const options: SpawnOptions = { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] };
  const child = spawn(command, args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
