import type { AgentOptions } from '../agent/agent.js';
import type { Transport } from '../transports/transport.js';
import type { Logger } from '../core/logger.js';

/**
 * Options of {@link createApp}.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'feed', broker: 'kafka://localhost:9092', shutdownTimeoutMs: 10_000 });
 * ```
 */
export interface AppOptions {
  /** Names the app: the default consumer groups are `<id>.<agent name>`. */
  readonly id: string;
  /** `memory://` (default: the embedded broker), `memory://<name>`, or `kafka://host:port[,host:port…]`. */
  readonly broker?: string;
  /** A transport to use instead of `broker` (tests, other clients). */
  readonly transport?: Transport;
  /** Where rivulet logs (default: pino to stdout at `RIVULET_LOG_LEVEL`, or `info`). */
  readonly logger?: Logger;
  /** Defaults for every agent of the app; each agent's own options win. */
  readonly agentDefaults?: AgentOptions;
  /**
   * The longest `stop()` may take, in ms (default 30 000): writes already started finish, records not yet
   * handed to a sink are left for redelivery, offsets are committed, `onStop` hooks run; whatever is still
   * running at the deadline is abandoned.
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * What the app does when one of its agents fails for good (restart budget spent, `onFailure: 'stop'`,
   * pipeline completed): `'stop'` (default) stops the app and `run()` rejects with the agent's
   * `AgentFailedError`; `'continue'` keeps the other agents running and reports the failed one as
   * failing in `/healthz` and the metrics.
   */
  readonly onAgentFailure?: 'stop' | 'continue';
}

/**
 * Options of {@link App.run}.
 *
 * @example
 * ```ts
 * await app.run({ handleSignals: false }); // resolves after app.stop()
 * ```
 */
export interface RunOptions {
  /** Stop gracefully on SIGINT and SIGTERM (default true). A second signal exits at once. */
  readonly handleSignals?: boolean;
}
