import { collectDefaultMetrics } from 'prom-client';
import { AgentFailedError, ConfigurationError } from '../../core/errors.js';
import { type Logger, defaultLogger } from '../../core/logger.js';
import { appMetrics } from '../../metrics/app-metrics.js';
import { loadApp } from '../load-app.js';
import { serveWorker } from '../worker-server.js';

/** Options of {@link workerCommand}. @internal */
export interface WorkerCommandOptions {
  /** Port of `/metrics` and `/healthz` (default 9464; 0 picks a free one, logged). */
  readonly port?: number;
  /** Interface to listen on (default: all). */
  readonly host?: string;
  /** Directory the module path is relative to (default `process.cwd()`). */
  readonly cwd?: string;
  /** Where the worker logs (default: pino to stdout, named `<app id>.worker`). */
  readonly logger?: Logger;
}

/**
 * `rivulet worker <app module>`: loads the app, serves `/metrics` and `/healthz`, runs the agents until
 * SIGTERM or SIGINT (graceful stop) or until an agent fails. Resolves with the exit code: 0 after a
 * clean stop, 1 when an agent failed; rejects with the `ConfigurationError` when an agent could not start
 * for a setting (the CLI exits 2).
 *
 * @example
 * ```ts
 * process.exitCode = await workerCommand('samples/feed-cache.ts', { port: 0 });
 * ```
 */
export async function workerCommand(modulePath: string, options: WorkerCommandOptions = {}): Promise<number> {
  const app = await loadApp(modulePath, options.cwd);
  const logger = options.logger ?? defaultLogger(`${app.id}.worker`);
  const metrics = appMetrics(app, { logger });
  collectDefaultMetrics({ register: metrics.registry });
  const server = await serveWorker(app, metrics, {
    port: options.port ?? 9464,
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  logger.info(
    { app: app.id, port: server.port, agents: app.agents.map((agent) => agent.stats().name) },
    `worker listening: /metrics and /healthz on port ${server.port}`,
  );
  try {
    await app.run();
    logger.info({ app: app.id }, 'worker stopped gracefully');
    return 0;
  } catch (error) {
    if (!(error instanceof AgentFailedError)) throw error;
    // An agent that could not start for a setting (a bad broker URL…): a usage error, said in one line.
    if (error.cause instanceof ConfigurationError) throw error.cause;
    logger.error({ app: app.id, err: error }, 'worker stopped: an agent failed');
    return 1;
  } finally {
    await server.close();
    metrics.close();
  }
}
