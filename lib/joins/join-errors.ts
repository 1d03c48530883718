import { RivuletError } from '../core/errors.js';

/**
 * A record reached a stream–stream join after its join window had closed: its event time plus
 * `within` is behind the partition's watermark (the highest event time seen, minus `graceMs`), as
 * Kafka Streams' `JoinWindows` decides. It goes to the join agent's dead-letter topic with this reason
 * (or is counted and dropped with `late: 'drop'`), and matches nothing.
 *
 * @example
 * ```ts
 * deadLetter.headers['rivulet-error-name']; // 'LateJoinRecordError'
 * ```
 */
export class LateJoinRecordError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly join: string,
    readonly eventTime: number,
    readonly watermark: number,
  ) {
    super(
      `Stream join ${join}: a record with event time ${eventTime} arrived after its join window closed ` +
        `(watermark ${watermark}); raise graceMs to accept records this late`,
    );
  }
}

/**
 * A join result failed for good (its retries used up, not an outage) under `onFailure: 'stop'`: the
 * join agent fails with this as the cause of its `AgentFailedError`. The result stays in the join's
 * state, so the next run emits it again.
 *
 * @example
 * ```ts
 * agent.failure?.cause instanceof JoinResultFailedError; // true
 * ```
 */
export class JoinResultFailedError extends RivuletError {
  constructor(
    readonly join: string,
    readonly partition: number,
    readonly id: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Stream join ${join}: the result ${id} (partition ${partition}) failed for good: ${reason}`, {
      cause,
    });
  }
}
