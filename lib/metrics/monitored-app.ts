import type { Observable } from 'rxjs';
import type { AgentStats } from '../agent/agent.js';
import type { SinkEvent, SinkHealth } from '../core/sink-health.js';
import type { TableStats } from '../tables/table.js';
import type { GlobalTableStats } from '../tables/global-table.js';
import type { Transport } from '../transports/transport.js';
import type { WindowTableStats } from '../windows/window-types.js';
import type { StreamJoinStats } from '../joins/stream-join.js';

/**
 * What metrics and status lines read from an app: its agents' stats, its transport (for lag) and its
 * tables' stats. An {@link App} is one; tests may pass a stand-in.
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
  /** Its tables, by name (an app of an older rivulet has none). */
  readonly tables?: ReadonlyMap<string, { stats(): TableStats }>;
  /** Its global tables, by name (an app of an older rivulet has none). */
  readonly globalTables?: ReadonlyMap<string, { stats(): GlobalTableStats }>;
  /** Its windowed tables, by name (they are in `tables` too, as plain tables). */
  readonly windowTables?: ReadonlyMap<string, { stats(): WindowTableStats }>;
  /** Its stream–stream joins, by name (their state is in `tables` too, as `<name>-join`). */
  readonly streamJoins?: ReadonlyMap<string, { stats(): StreamJoinStats }>;
  /** Its sinks' health, per agent and sink (an app of an older rivulet has none). */
  sinkHealth?(): readonly SinkHealth[];
  /** Its sinks' writes as they finish (an app of an older rivulet has none). */
  readonly sinkEvents$?: Observable<SinkEvent>;
}
