import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { services } from './services.js';

const fixture = fileURLToPath(new URL('../fixtures/kafka-worker.ts', import.meta.url));

/** A running `spec/integration/fixtures/kafka-worker.ts`. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves when the worker has joined its group. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote to stderr (warnings and errors). */
  stderr(): string;
}

/** Where the worker writes, and how it runs (see the fixture for the variables). */
export interface WorkerSettings {
  readonly topic: string;
  readonly group: string;
  readonly sinkFile: string;
  readonly run: number;
  readonly delayMs?: number;
  readonly concurrency?: number;
  readonly maxInFlight?: number;
  readonly commitIntervalMs?: number;
  /** Connect by this `kafka://` URL (its group settings included) instead of the fixture's transport. */
  readonly brokerUrl?: string;
  /** Write info lines to stderr too. */
  readonly logInfo?: boolean;
}

/**
 * Starts a worker process (`node --import tsx`).
 *
 * @example
 * ```ts
 * const worker = startWorker({ topic, group, sinkFile, run: 1 });
 * await worker.ready;
 * worker.child.kill('SIGTERM');
 * ```
 */
export function startWorker(settings: WorkerSettings): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: {
      ...process.env,
      RIVULET_KAFKA_BROKERS: services.kafkaBrokers.join(','),
      RIVULET_TOPIC: settings.topic,
      RIVULET_GROUP: settings.group,
      RIVULET_SINK_FILE: settings.sinkFile,
      RIVULET_RUN: String(settings.run),
      RIVULET_DELAY_MS: String(settings.delayMs ?? 10),
      RIVULET_CONCURRENCY: String(settings.concurrency ?? 32),
      RIVULET_MAX_IN_FLIGHT: String(settings.maxInFlight ?? 200),
      RIVULET_COMMIT_INTERVAL_MS: String(settings.commitIntervalMs ?? 20),
      ...(settings.brokerUrl ? { RIVULET_BROKER_URL: settings.brokerUrl } : {}),
      ...(settings.logInfo ? { RIVULET_LOG_INFO: '1' } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('ready\n')) resolve();
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`worker ${settings.run} exited (${code ?? signal}) before it was ready:\n${stderr}`)),
    );
  });
  ready.catch(() => undefined);
  return { child, ready, exited, stderr: () => stderr };
}

/** A line the worker's sink wrote. */
export interface SinkLine {
  readonly partition: number;
  readonly offset: number;
  readonly id: number;
  readonly run: number;
  readonly at: number;
}

/** Reads the worker sink file (missing file: nothing written yet). */
export function readSink(file: string): SinkLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, id, run, at] = line.split(' ').map(Number);
      return { partition: partition!, offset: offset!, id: id!, run: run!, at: at! };
    });
}
