/**
 * Acknowledgement lineage: how rivulet knows when a consumed record is done.
 *
 * Every record an agent consumes gets one {@link Lineage}. Messages derived from it (by `mapValue`,
 * `mergeMapValue`, batching…) carry the same lineage, and fan-out holds extra references. When the last
 * reference is released the record is settled; a failure anywhere hands the record to the agent's error
 * policy once. This module is internal: operators and sinks use the message-level helpers in `ack.ts`.
 *
 * @internal
 */

import type { AgentSinkHealth } from './sink-health.js';

/** Receives the outcome of a lineage. Implemented by the agent runner (and by the test harness). @internal */
export interface LineageOwner {
  onSettled(lineage: Lineage): void;
  onFailed(lineage: Lineage, error: unknown): void;
  /** False once the owner stops: sinks start no new write for its messages. */
  readonly accepting: boolean;
  /** Attempts the lineage's record may still make (its retry budget), if the owner keeps one. */
  attemptsLeft?(lineage: Lineage): number | undefined;
  /** Where a sink writing the owner's messages reports its attempts (its app's, for its agent); absent: nowhere. */
  readonly sinkHealth?: AgentSinkHealth;
  /**
   * A message of the lineage was used again after the record was done (settled or failed): too late to
   * fail the record, so the owner reports it (the agent logs it as an error).
   */
  onReused?(lineage: Lineage, error: unknown): void;
  /**
   * What the owner's records belong to, for state bound to it: a table binds to the scope of the first
   * message that reaches it (`agent/partition-resources.ts` gives it its type). None: the records
   * belong to no agent, and no table can be updated with them.
   */
  readonly scope?: unknown;
  /**
   * An operator that held a message of the deferred lineage across a write handed it on, and the
   * hand-off returned with no later operator deferring it again (a direct subscription settles it now).
   */
  handedOff?(lineage: Lineage): void;
}

/** One consumed record's acknowledgement state, for one processing attempt. @internal */
export class Lineage {
  /** Messages (or pending fan-outs, or the push under way) that still hold this lineage. */
  refs = 1;
  /** Settled or failed: later releases and failures are ignored. */
  done = false;
  /**
   * An operator holds a message of it across an asynchronous step (a table or sink write): a direct
   * subscription then settles it by its references, not when the push returns.
   */
  deferred = false;

  constructor(
    readonly owner: LineageOwner,
    readonly token: unknown,
  ) {}

  retain(): void {
    if (!this.done) this.refs++;
  }

  release(): void {
    if (this.done) return;
    if (--this.refs <= 0) {
      this.done = true;
      this.owner.onSettled(this);
    }
  }

  /** Settles the record whatever references remain (a direct subscription settles after `next`). */
  settleAll(): void {
    if (this.done) return;
    this.done = true;
    this.owner.onSettled(this);
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.owner.onFailed(this, error);
  }

  /** A message of this lineage was used again: the record fails while open; once done, the owner hears. */
  reused(error: unknown): void {
    if (this.done) this.owner.onReused?.(this, error);
    else this.fail(error);
  }
}

/** What a message carries: nothing (a message built by hand), one lineage, or several (an aggregate). @internal */
export type LineageRef = Lineage | readonly Lineage[] | undefined;

/** Combines the lineages of several messages into one reference (used for aggregates). @internal */
export function joinLineages(refs: readonly LineageRef[]): LineageRef {
  const all: Lineage[] = [];
  for (const ref of refs) {
    if (ref === undefined) continue;
    if (ref instanceof Lineage) all.push(ref);
    else all.push(...ref);
  }
  return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
}

/** Applies `action` to each lineage of a reference. @internal */
export function eachLineage(ref: LineageRef, action: (lineage: Lineage) => void): void {
  if (ref === undefined) return;
  if (ref instanceof Lineage) action(ref);
  else for (const lineage of ref) action(lineage);
}
