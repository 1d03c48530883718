import type { AgentStats } from '../../lib/index.js';

/** Stats of an agent that has done nothing yet, with `changes` applied: for fake agents in specs. */
export function agentStats(name: string, topic: string, changes: Partial<AgentStats> = {}): AgentStats {
  return {
    name,
    topic,
    group: `app.${name}`,
    state: 'running',
    received: 0,
    settled: 0,
    retried: 0,
    deadLettered: 0,
    inFlight: 0,
    window: 0,
    pauses: 0,
    held: 0,
    restarts: 0,
    partitions: [],
    ...changes,
  };
}
