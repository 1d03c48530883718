import { RivuletError } from '../core/errors.js';

/**
 * A partition read was asked for something the topic cannot give: a partition it does not have, a
 * range ending past the partition's end offset, `from > to`, or one partition twice.
 *
 * @example
 * ```ts
 * await transport.readPartitions(topic, [{ partition: 9, from: 0, to: 10 }], { onBatch }); // rejects
 * ```
 */
export class PartitionReadRangeError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    reason: string,
  ) {
    super(`Cannot read ${topic}[${partition}]: ${reason}`);
  }
}

/**
 * A partition read was stopped through its `signal` before it reached the end of every range.
 *
 * @example
 * ```ts
 * const abort = new AbortController();
 * const reading = transport.readPartitions(topic, ranges, { onBatch, signal: abort.signal });
 * abort.abort(); // reading rejects with PartitionReadAbortedError
 * ```
 */
export class PartitionReadAbortedError extends RivuletError {
  constructor(
    readonly topic: string,
    options?: ErrorOptions,
  ) {
    super(`Reading ${topic} was aborted`, options);
  }
}
