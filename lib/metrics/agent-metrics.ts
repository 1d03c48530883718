import type { Registry } from 'prom-client';
import type { AgentStats } from '../agent/agent.js';
import type { Logger } from '../core/logger.js';
import type { LagCache } from './lag-cache.js';
import type { MonitoredApp } from './monitored-app.js';
import { type ScrapedMetric, registerScraped } from './scraped-metrics.js';
import { promClient } from './prom-client.js';

const COUNTERS: readonly ScrapedMetric<AgentStats>[] = [
  [
    'rivulet_agent_messages_received_total',
    'Records handed to the pipeline (retries not counted)',
    (s) => s.received,
  ],
  [
    'rivulet_agent_messages_settled_total',
    'Records settled (processed, filtered or dead-lettered)',
    (s) => s.settled,
  ],
  ['rivulet_agent_messages_retried_total', 'Retries scheduled', (s) => s.retried],
  [
    'rivulet_agent_messages_dead_lettered_total',
    'Records sent to the dead-letter topic',
    (s) => s.deadLettered,
  ],
  [
    'rivulet_agent_pauses_total',
    'Times the agent paused its partitions for lack of room or while a sink was down',
    (s) => s.pauses,
  ],
  ['rivulet_agent_restarts_total', 'Times the pipeline restarted after an error', (s) => s.restarts],
];

const GAUGES: readonly ScrapedMetric<AgentStats>[] = [
  ['rivulet_agent_in_flight', 'Records received and not settled', (s) => s.inFlight],
  [
    'rivulet_agent_window',
    'Records received and not yet committable (bounded by maxInFlight)',
    (s) => s.window,
  ],
  ['rivulet_agent_running', '1 while the agent is running, else 0', (s) => (s.state === 'running' ? 1 : 0)],
  ['rivulet_agent_failed', '1 once the agent failed for good, else 0', (s) => (s.state === 'failed' ? 1 : 0)],
  [
    'rivulet_agent_held',
    'Records held while their sink is down (the agent takes no new records meanwhile)',
    (s) => s.held,
  ],
];

const labelsOf = (stats: AgentStats) => ({ agent: stats.name, topic: stats.topic });

/**
 * Registers the per-agent metrics of an app (labels `agent`, `topic`; lag and committed offsets also
 * `partition`). Values are read from `agent.stats()` when scraped; lag is asked of the broker through
 * `lag` (cached), only for running agents. Returns the names registered.
 *
 * @example
 * ```ts
 * registerAgentMetrics(app, registry, new LagCache(() => app.transport()), app.logger);
 * ```
 */
export function registerAgentMetrics(
  app: MonitoredApp,
  registry: Registry,
  lag: LagCache,
  logger: Logger,
): string[] {
  const snapshot = (): AgentStats[] => app.agents.map((agent) => agent.stats());
  const registers = [registry];
  const names = registerScraped(
    registry,
    ['agent', 'topic'],
    () => snapshot().map((stats) => [labelsOf(stats), stats] as const),
    { counters: COUNTERS, gauges: GAUGES },
  );
  names.push('rivulet_agent_committed_offset', 'rivulet_agent_commit_lag');
  new (promClient().Gauge)({
    name: 'rivulet_agent_committed_offset',
    help: 'Last offset this worker committed, per assigned partition',
    labelNames: ['agent', 'topic', 'partition'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) {
        for (const p of stats.partitions) {
          if (p.committed >= 0) this.set({ ...labelsOf(stats), partition: p.partition }, p.committed);
        }
      }
    },
  });
  let warned = false;
  new (promClient().Gauge)({
    name: 'rivulet_agent_commit_lag',
    help: "Records not yet committed by the agent's group: end offset - committed offset, per partition",
    labelNames: ['agent', 'topic', 'partition'],
    registers,
    async collect() {
      const running = snapshot().filter((stats) => stats.state === 'running');
      const results = await Promise.allSettled(running.map((stats) => lag.get(stats.group, stats.topic)));
      this.reset();
      results.forEach((result, i) => {
        const stats = running[i]!;
        if (result.status === 'fulfilled') {
          for (const p of result.value) this.set({ ...labelsOf(stats), partition: p.partition }, p.lag);
        } else if (!warned) {
          warned = true;
          logger.warn({ agent: stats.name, err: result.reason }, 'cannot read commit lag for metrics');
        }
      });
    },
  });
  return names;
}
