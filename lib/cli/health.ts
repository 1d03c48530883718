import type { AgentState } from '../agent/agent.js';
import { redactError } from '../core/redact.js';
import type { MonitoredApp } from '../metrics/monitored-app.js';

/** Why an agent or the app failed, as `/healthz` shows it: class names and a message with credentials masked. @internal */
export interface HealthFailure {
  /** The error's class name, e.g. `AgentFailedError`. */
  readonly error: string;
  /** The class name of the error that caused it, e.g. `KafkaJSSASLAuthenticationError`, if any. */
  readonly cause?: string;
  /** The error's message, with credentials masked. */
  readonly message: string;
}

/** One agent in `/healthz`. @internal */
export interface AgentHealth {
  readonly name: string;
  readonly topic: string;
  readonly state: AgentState;
  /** Why the agent failed, if it did. */
  readonly failure?: HealthFailure;
}

/** The body of `/healthz`. @internal */
export interface HealthReport {
  /** `ok` while every agent runs; `failing` when one failed, stopped or has not started yet. */
  readonly status: 'ok' | 'failing';
  readonly app: string;
  readonly agents: readonly AgentHealth[];
  /** Why the app stopped, if an agent failed. */
  readonly failure?: HealthFailure;
}

/** What {@link health} reads of an app: its id, its agents (with their failure, if any) and its own failure. @internal */
export interface HealthSource {
  readonly id: string;
  readonly agents: readonly (MonitoredApp['agents'][number] & { readonly failure?: unknown })[];
  readonly failure?: unknown;
}

/**
 * The health of a worker's app: ok while every agent is running and none failed. A failed agent, and a
 * failed app, say why: the error's class, its cause's class and its message, credentials masked.
 *
 * @example
 * ```ts
 * const report = health(app);
 * response.writeHead(report.status === 'ok' ? 200 : 503).end(JSON.stringify(report));
 * ```
 */
export function health(app: HealthSource): HealthReport {
  const agents = app.agents.map((agent): AgentHealth => {
    const { name, topic, state } = agent.stats();
    const failure = agent.failure === undefined ? undefined : healthFailure(agent.failure);
    return { name, topic, state, ...(failure ? { failure } : {}) };
  });
  const failure = app.failure === undefined ? undefined : healthFailure(app.failure);
  const ok = failure === undefined && agents.every((agent) => agent.state === 'running' && !agent.failure);
  return { status: ok ? 'ok' : 'failing', app: app.id, agents, ...(failure ? { failure } : {}) };
}

/**
 * An error as `/healthz` shows it.
 *
 * @example
 * ```ts
 * healthFailure(new AgentFailedError('a', undefined, new Error('boom')));
 * // { error: 'AgentFailedError', cause: 'Error', message: 'Agent a failed: boom' }
 * ```
 * @internal
 */
export function healthFailure(error: unknown): HealthFailure {
  const { name, message, cause } = redactError(error);
  return { error: name, ...(cause ? { cause: cause.name } : {}), message };
}
