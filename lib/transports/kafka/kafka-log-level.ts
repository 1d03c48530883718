import { type LogEntry, logLevel } from 'kafkajs';

/**
 * A level of rivulet's logger.
 *
 * @example
 * ```ts
 * const level: LogLevelName = 'info';
 * logger[level]({}, 'the group is rebalancing');
 * ```
 */
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** Broker answers that mean "the group is changing": the routine of a rebalance, not a failure. */
const REBALANCE =
  /group is rebalancing|generation id is not valid|not aware of this member|not the correct coordinator/i;
/** kafkajs parts that speak of connections, single requests and their retries. */
const CONNECTION_NAMESPACES =
  /^(Connection|ConnectionPool|Broker|BrokerPool|Cluster|RequestQueue|SaslAuthenticator)/;
/** The consumer's crash and restart, and its stop, which rivulet's consumer reports itself. */
const REPORTED_BY_RIVULET =
  /^(Crash: |Restarting the consumer in |Caught error when (disconnecting|stopping))/;

/**
 * The level at which rivulet logs one of kafkajs's log lines: the level of what the line means, not
 * the one kafkajs gave it. rivulet logs the failures that matter itself, once per attempt and naming
 * the brokers (a connection attempt, a consumer crash, a failed write), so kafkajs's own account of
 * them is detail:
 *
 * - kafkajs INFO and DEBUG lines: `debug`.
 * - A rebalance: `info` for kafkajs rejoining ("The group is rebalancing, re-joining"), `debug` for
 *   the broker's answers that announce it, request by request ("The group is rebalancing, so a rejoin
 *   is needed" on each heartbeat, "Specified group generation id is not valid" on a commit): a member
 *   heartbeats several times while it finishes its batch, and rivulet logs the join that ends the
 *   rebalance at info itself. The one exception is a member the coordinator no longer knows ("The
 *   coordinator is not aware of this member, re-joining the group"): it was dropped from its group
 *   (it missed its session timeout), a `warn`.
 * - A request or connection that kafkajs retries (a line with `retryCount`, a connection error, a
 *   failed response), and the consumer's crash and restart: `debug`.
 * - Anything else keeps kafkajs's level (ERROR → `error`, WARN → `warn`).
 *
 * @example
 * ```ts
 * kafkaLineLevel({ namespace: 'Runner', level: logLevel.WARN, label: 'WARN',
 *   log: { timestamp: '', message: 'The group is rebalancing, re-joining', error: 'The group is rebalancing, so a rejoin is needed' } });
 * // 'info'
 * ```
 */
export function kafkaLineLevel({ namespace, level, log }: LogEntry): LogLevelName {
  if (level !== logLevel.ERROR && level !== logLevel.WARN) return 'debug';
  const message = String(log.message);
  const text = `${message} ${describe((log as { error?: unknown }).error)}`;
  if (REBALANCE.test(text)) {
    if (CONNECTION_NAMESPACES.test(namespace)) return 'debug';
    const dropped = namespace === 'Runner' && /not aware of this member/i.test(message);
    return dropped ? 'warn' : 'info';
  }
  if ('retryCount' in log || 'retryTime' in log) return 'debug';
  if (CONNECTION_NAMESPACES.test(namespace)) return 'debug';
  if (namespace === 'Consumer' && REPORTED_BY_RIVULET.test(message)) return 'debug';
  return level === logLevel.ERROR ? 'error' : 'warn';
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : '';
}
