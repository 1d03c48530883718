import type { LineageOwner } from '../../lib/core/lineage.js';
import type { Message } from '../../lib/core/message.js';

/** A message a fake table was given, and the callback that reports what became of its change. */
export interface HeldOutcome<O> {
  readonly message: Message<unknown, unknown>;
  readonly then: (outcome: O, message: Message<unknown, unknown>) => void;
}

/**
 * Reports `outcome` for the `index`-th message a fake table holds (as a changelog ack would).
 *
 * @example
 * ```ts
 * const outcome = reporter(applied);
 * outcome(0, { kind: 'dropped' });
 * ```
 */
export function reporter<O>(held: readonly HeldOutcome<O>[]): (index: number, outcome: O) => void {
  return (index, outcome) => {
    const one = held[index]!;
    one.then(outcome, one.message);
  };
}

/**
 * A lineage owner that records which records settled and which failed (by lineage token).
 *
 * @example
 * ```ts
 * const { owner, settled } = recordingOwner();
 * const message = recordMessage('orders', 0, { offset: 7, headers: {}, timestamp: 0 }, 'ada', 1, new Lineage(owner, 7));
 * // once the message settles, settled is [7]
 * ```
 */
export function recordingOwner(): {
  readonly owner: LineageOwner;
  readonly settled: number[];
  readonly failed: { offset: number; error: unknown }[];
} {
  const settled: number[] = [];
  const failed: { offset: number; error: unknown }[] = [];
  const owner: LineageOwner = {
    accepting: true,
    onSettled: (lineage) => settled.push(lineage.token as number),
    onFailed: (lineage, error) => failed.push({ offset: lineage.token as number, error }),
  };
  return { owner, settled, failed };
}
