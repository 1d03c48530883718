import type { AgentStats } from '../agent/agent.js';
import type { Transport } from '../transports/transport.js';

/**
 * What metrics and status lines read from an app: its agents' stats and its transport (for lag). An
 * {@link App} is one; tests may pass a stand-in.
 *
 * @example
 * ```ts
 * const source: MonitoredApp = app;
 * for (const agent of source.agents) console.log(agent.stats().settled);
 * ```
 */
export interface MonitoredApp {
  readonly agents: readonly { stats(): AgentStats }[];
  transport(): Promise<Transport>;
}
