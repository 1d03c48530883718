import type { Registry } from 'prom-client';
import { EMPTY, type Observable } from 'rxjs';
import { type Logger, silentLogger } from '../core/logger.js';
import type { SinkEvent } from '../core/sink-health.js';
import { registerAgentMetrics } from './agent-metrics.js';
import { registerGroupMetrics } from './group-metrics.js';
import { LagCache } from './lag-cache.js';
import type { MonitoredApp } from './monitored-app.js';
import { registerSinkMetrics } from './sink-metrics.js';
import { registerTableMetrics } from './table-metrics.js';
import { registerJoinMetrics, registerWindowMetrics } from './window-metrics.js';
import { promClient } from './prom-client.js';

/**
 * Options of {@link appMetrics}.
 *
 * @example
 * ```ts
 * const metrics = appMetrics(app, { registry: register, lagTtlMs: 5000 }); // prom-client's global registry
 * ```
 */
export interface AppMetricsOptions {
  /** Where to register (default: a fresh `Registry` for this app, not prom-client's global one). */
  readonly registry?: Registry;
  /** How long a commit-lag answer from the broker is reused, in ms (default 1000). */
  readonly lagTtlMs?: number;
  /** Clock of the lag cache (default `Date.now`), for tests. */
  readonly now?: () => number;
  /** Sink writes to count (default: the app's `sinkEvents$`, every sink of its agents). */
  readonly sinkEvents?: Observable<SinkEvent>;
  /** Where to warn when lag cannot be read (default: the app's logger, if it has one). */
  readonly logger?: Logger;
}

/**
 * Prometheus metrics of an app, from {@link appMetrics}.
 *
 * @example
 * ```ts
 * const metrics: AppMetrics = appMetrics(app);
 * response.writeHead(200, { 'content-type': metrics.contentType }).end(await metrics.metrics());
 * ```
 */
export interface AppMetrics {
  readonly registry: Registry;
  /** The Content-Type of {@link AppMetrics.metrics}' text. */
  readonly contentType: string;
  /** The Prometheus text exposition of every metric in the registry. */
  metrics(): Promise<string>;
  /** Stops counting sink writes and removes these metrics from the registry. Safe to call twice. */
  close(): void;
}

/**
 * Prometheus metrics (prom-client) of an app. Per agent (labels `agent`, `topic`):
 * `rivulet_agent_messages_{received,settled,retried,dead_lettered}_total`, `rivulet_agent_pauses_total`,
 * `rivulet_agent_in_flight`, `rivulet_agent_window`, `rivulet_agent_running`, and per partition
 * `rivulet_agent_committed_offset` and `rivulet_agent_commit_lag` (end − committed, asked of the broker
 * at most once per `lagTtlMs`); the agent's consumer group as this worker sees it:
 * `rivulet_consumer_group_{generation,partitions,rebalancing,last_rebalance_seconds}` and
 * `rivulet_consumer_group_{rebalances,partitions_gained,partitions_lost,rebalance_seconds}_total`. Per
 * sink (labels `agent`, `sink`): `rivulet_sink_writes_total`, `rivulet_sink_write_failures_total`,
 * `rivulet_sink_messages_total`, the histogram `rivulet_sink_write_duration_seconds`,
 * `rivulet_sink_failing` and `rivulet_sink_failing_seconds`. Sink metrics count this app's sinks only. Per table (label
 * `table`, and `partition` per owned partition): `rivulet_table_keys`, `rivulet_table_recovering`,
 * `rivulet_table_restore_remaining`, `rivulet_table_changelog_lag`, `rivulet_table_pending_writes` and
 * `rivulet_table_changelog_write_failures_total`. Per windowed table: `rivulet_window_watermark_seconds`
 * (per partition), `rivulet_window_results_pending`, `rivulet_window_results_total` and
 * `rivulet_window_late_records_total` (label `outcome`).
 *
 * @example
 * ```ts
 * const metrics = appMetrics(app);
 * http.createServer(async (_req, res) => res.end(await metrics.metrics())).listen(9464);
 * ```
 */
export function appMetrics(
  app: MonitoredApp & { readonly logger?: Logger },
  options: AppMetricsOptions = {},
): AppMetrics {
  const registry = options.registry ?? new (promClient().Registry)();
  const lag = new LagCache(() => app.transport(), {
    ...(options.lagTtlMs !== undefined ? { ttlMs: options.lagTtlMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const logger = options.logger ?? app.logger ?? silentLogger;
  const agentNames = [
    ...registerAgentMetrics(app, registry, lag, logger),
    ...registerGroupMetrics(app, registry),
  ];
  const sinks = registerSinkMetrics(
    registry,
    options.sinkEvents ?? app.sinkEvents$ ?? EMPTY,
    () => app.sinkHealth?.() ?? [],
  );
  const tableNames = [
    ...registerTableMetrics(app, registry),
    ...registerWindowMetrics(app, registry),
    ...registerJoinMetrics(app, registry),
  ];
  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      sinks.subscription.unsubscribe();
      for (const name of [...agentNames, ...sinks.names, ...tableNames]) registry.removeSingleMetric(name);
    },
  };
}
