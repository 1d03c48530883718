import { type ChildProcess, spawn } from 'node:child_process';
import { services } from './services.js';

/** A fixture script running in its own process ({@link startFixture}). */
export interface FixtureProcess {
  readonly child: ChildProcess;
  /** Resolves when the process exited (by itself or killed). */
  readonly exited: Promise<void>;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output(): string;
}

/**
 * Runs `node --import tsx <fixture>` with the given variables (over this process's, plus
 * `RIVULET_KAFKA_BROKERS`); `onOutput` sees each chunk of its stdout as it comes.
 *
 * @example
 * ```ts
 * const worker = startFixture(fixture, { RIVULET_APP: appId }, (chunk) => console.log(chunk));
 * await waitFor(() => worker.output().includes('started'));
 * ```
 */
export function startFixture(
  fixture: string,
  env: Record<string, string>,
  onOutput: (chunk: string) => void = () => {},
): FixtureProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env, RIVULET_KAFKA_BROKERS: services.kafkaBrokers.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    onOutput(chunk.toString());
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, output: () => output };
}
