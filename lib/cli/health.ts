import type { AgentState } from '../agent/agent.js';
import type { MonitoredApp } from '../metrics/monitored-app.js';

/** The body of `/healthz`. @internal */
export interface HealthReport {
  /** `ok` while every agent runs; `failing` when one failed, stopped or has not started yet. */
  readonly status: 'ok' | 'failing';
  readonly app: string;
  readonly agents: readonly { readonly name: string; readonly topic: string; readonly state: AgentState }[];
  /** Why the app stopped, if an agent failed. */
  readonly failure?: string;
}

/**
 * The health of a worker's app: ok while every agent is running and none failed.
 *
 * @example
 * ```ts
 * const report = health(app);
 * response.writeHead(report.status === 'ok' ? 200 : 503).end(JSON.stringify(report));
 * ```
 */
export function health(app: {
  readonly id: string;
  readonly agents: MonitoredApp['agents'];
  readonly failure?: Error | undefined;
}): HealthReport {
  const agents = app.agents.map((agent) => {
    const { name, topic, state } = agent.stats();
    return { name, topic, state };
  });
  const failure = app.failure?.message;
  const ok = failure === undefined && agents.every((agent) => agent.state === 'running');
  return { status: ok ? 'ok' : 'failing', app: app.id, agents, ...(failure ? { failure } : {}) };
}
