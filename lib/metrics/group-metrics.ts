import type { Registry } from 'prom-client';
import type { AgentStats } from '../agent/agent.js';
import type { GroupStats } from '../transports/group-membership.js';
import type { MonitoredApp } from './monitored-app.js';
import { type ScrapedMetric, registerScraped } from './scraped-metrics.js';

const COUNTERS: readonly ScrapedMetric<GroupStats>[] = [
  [
    'rivulet_consumer_group_rebalances_total',
    "Times this worker joined the agent's consumer group",
    (g) => g.rebalances,
  ],
  [
    'rivulet_consumer_group_partitions_gained_total',
    'Partitions assigned to this worker, summed over its joins',
    (g) => g.partitionsGained,
  ],
  [
    'rivulet_consumer_group_partitions_lost_total',
    'Partitions taken from this worker (moved away, or given up on a crash or stop)',
    (g) => g.partitionsLost,
  ],
  [
    'rivulet_consumer_group_rebalance_seconds_total',
    "Time this worker spent joining and rebalancing (processing nothing of the group's topic)",
    (g) => g.rebalanceMs / 1000,
  ],
];

const GAUGES: readonly ScrapedMetric<GroupStats>[] = [
  [
    'rivulet_consumer_group_generation',
    'Generation of the consumer group as this worker last heard it (-1 until known)',
    (g) => g.generation,
  ],
  ['rivulet_consumer_group_partitions', 'Partitions of the group this worker owns', (g) => g.partitions],
  [
    'rivulet_consumer_group_rebalancing',
    '1 while this worker is joining or rebalancing, else 0',
    (g) => (g.state === 'joining' || g.state === 'rebalancing' ? 1 : 0),
  ],
  [
    'rivulet_consumer_group_last_rebalance_seconds',
    'How long the last join or rebalance of this worker took',
    (g) => (g.lastRebalanceMs ?? 0) / 1000,
  ],
];

/**
 * Registers the consumer-group metrics of an app's agents (labels `agent`, `topic`), read from
 * `agent.stats().membership` when scraped: `rivulet_consumer_group_generation`,
 * `rivulet_consumer_group_partitions`, `rivulet_consumer_group_rebalancing`,
 * `rivulet_consumer_group_last_rebalance_seconds`, and the counters
 * `rivulet_consumer_group_rebalances_total`, `rivulet_consumer_group_partitions_{gained,lost}_total`
 * and `rivulet_consumer_group_rebalance_seconds_total`. Agents whose transport tells nothing of its
 * group show none. Returns the names registered.
 *
 * @example
 * ```ts
 * registerGroupMetrics(app, registry);
 * ```
 */
export function registerGroupMetrics(app: Pick<MonitoredApp, 'agents'>, registry: Registry): string[] {
  const rows = function* (): Iterable<readonly [Record<string, string>, GroupStats]> {
    for (const stats of app.agents.map((agent): AgentStats => agent.stats()))
      if (stats.membership) yield [{ agent: stats.name, topic: stats.topic }, stats.membership];
  };
  return registerScraped(registry, ['agent', 'topic'], rows, { counters: COUNTERS, gauges: GAUGES });
}
