import type { AgentState, PartitionStats } from '../agent/agent.js';
import type { SinkHealth } from '../core/sink-health.js';

/**
 * One agent's row of the status line.
 *
 * @example
 * ```ts
 * const row: AgentStatus = { name: 'save', state: 'running', rate: 120, inFlight: 3, partitions: [], lag: 0 };
 * process.stderr.write(formatStatus([row]));
 * ```
 */
export interface AgentStatus {
  readonly name: string;
  readonly state: AgentState;
  /** Messages settled per second over the last interval. */
  readonly rate: number;
  readonly inFlight: number;
  readonly partitions: readonly PartitionStats[];
  /** Total commit lag of the agent's group, or `undefined` when unknown. */
  readonly lag: number | undefined;
  /** Records held while a sink is down (shown when not 0). */
  readonly held?: number;
}

/** Up to this many partitions, committed offsets are listed one by one; beyond, summed. */
const LISTED_PARTITIONS = 4;

/**
 * Committed offsets of an agent, as the status line shows them: `p0@12 p1@7` (`-` before the first
 * commit), or `12 partitions, 1234 total` when there are many.
 *
 * @example
 * ```ts
 * formatCommitted(agent.stats().partitions); // 'p0@12 p1@7'
 * ```
 */
export function formatCommitted(partitions: readonly PartitionStats[]): string {
  if (partitions.length === 0) return '-';
  const sorted = [...partitions].sort((a, b) => a.partition - b.partition);
  if (sorted.length > LISTED_PARTITIONS) {
    const total = sorted.reduce((sum, p) => sum + Math.max(0, p.committed), 0);
    return `${sorted.length} partitions, ${total} total`;
  }
  return sorted.map((p) => `p${p.partition}@${p.committed < 0 ? '-' : p.committed}`).join(' ');
}

/**
 * The status block: one aligned line per agent with msg/s, in flight, committed offsets and lag, and
 * the state when the agent is not running; then one line per failing sink and agent (`redis sink of save
 * failing for 12 s: ECONNREFUSED 127.0.0.1:6379`). Ends with a newline.
 *
 * @example
 * ```ts
 * formatStatus([{ name: 'save', state: 'running', rate: 120, inFlight: 3, partitions: [], lag: 0 }]);
 * // 'save     120.0 msg/s  in flight     3  committed -  lag 0\n'
 * ```
 */
export function formatStatus(
  rows: readonly AgentStatus[],
  sinks: readonly SinkHealth[] = [],
  now: number = Date.now(),
): string {
  const width = Math.max(0, ...rows.map((row) => row.name.length));
  const agents = rows.map((row) => {
    const state = row.state === 'running' ? '' : `  (${row.state})`;
    const held = row.held ? `  held ${row.held} (sink down)` : '';
    return (
      `${row.name.padEnd(width)}  ${row.rate.toFixed(1).padStart(8)} msg/s` +
      `  in flight ${String(row.inFlight).padStart(5)}` +
      `  committed ${formatCommitted(row.partitions)}` +
      `  lag ${row.lag ?? '?'}${held}${state}\n`
    );
  });
  const failing = sinks
    .filter((sink) => sink.state === 'failing')
    .map(
      (sink) =>
        `${sink.name} sink of ${sink.agent} failing for ${Math.round((now - sink.since) / 1000)} s: ${sink.lastError ?? 'unknown error'}\n`,
    );
  return [...agents, ...failing].join('');
}
