import { asyncScheduler } from 'rxjs';
import type { GroupStats } from '../transports/group-membership.js';
import type { AgentState, AgentStats } from './agent-types.js';
import type { FailureHandler } from './failure-handler.js';
import type { Ledger } from './ledger.js';

/** Where an agent's counters come from: its rooms, each the owner of its own. @internal */
export interface AgentStatsSources {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  readonly state: AgentState;
  readonly ledger: Ledger;
  readonly failures: FailureHandler;
  readonly restarts: number;
  readonly membership: GroupStats | undefined;
}

/**
 * An agent's {@link AgentStats}, assembled from the rooms that own each counter: the ledger (counts,
 * partitions), the failure handler (retries, dead letters, held records), the supervisor (restarts)
 * and the consumer (its group membership). A partition's oldest unsettled record is aged on the clock
 * of the records' `receivedAt` (`asyncScheduler`, virtual under `TestScheduler.run`).
 *
 * @example
 * ```ts
 * const stats = agentStats({ name, topic, group, state, ledger, failures, restarts: 0, membership: undefined });
 * ```
 * @internal
 */
export function agentStats(sources: AgentStatsSources): AgentStats {
  const { ledger, failures, membership } = sources;
  const now = asyncScheduler.now();
  const partitions = [...ledger.trackers()].map((tracker) => ({
    partition: tracker.partition,
    committed: tracker.committed,
    committable: tracker.committable,
    inFlight: tracker.unsettled,
    oldestUnsettledMs: tracker.oldest ? now - tracker.oldest.receivedAt : 0,
  }));
  return {
    name: sources.name,
    topic: sources.topic,
    group: sources.group,
    state: sources.state,
    received: ledger.received,
    settled: ledger.settled,
    retried: failures.retried,
    deadLettered: failures.deadLettered,
    inFlight: ledger.unsettled,
    window: ledger.window,
    pauses: ledger.pauses,
    held: failures.held,
    restarts: sources.restarts,
    partitions,
    ...(membership ? { membership } : {}),
  };
}

/**
 * The counters an agent logs when it stops.
 *
 * @example
 * ```ts
 * logger.info({ agent: agent.name, ...stoppedCounters(agent.stats()) }, 'agent stopped');
 * ```
 * @internal
 */
export function stoppedCounters(stats: AgentStats): Record<string, number> {
  return {
    received: stats.received,
    settled: stats.settled,
    retried: stats.retried,
    deadLettered: stats.deadLettered,
    restarts: stats.restarts,
  };
}
