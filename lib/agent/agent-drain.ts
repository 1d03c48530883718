/** What {@link AgentDrain} counts on. @internal */
export interface DrainCounts {
  /** Records received and not settled. */
  unsettled(): number;
  /** Dead letters still being written. */
  pendingDeadLetters(): number;
  /** Offsets of settled records held from commit until their changes are durable (none if absent). */
  holds?(): number;
}

/**
 * When a stopping agent has drained: every record it received settled, or its pipeline completed (what
 * it still held settles no more) with no dead letter still being written; and no offset is held for a
 * change still on its way to a changelog. A stop waits for it (within
 * its deadline); settlements, revocations and the pipeline's completion check it.
 *
 * @example
 * ```ts
 * const drain = new AgentDrain({ unsettled: () => ledger.unsettled, pendingDeadLetters: () => 0 });
 * const drained = drain.wait();
 * drain.check(); // resolves `drained` at once when nothing is in flight
 * ```
 * @internal
 */
export class AgentDrain {
  #pipelineDone = false;
  #resolve: (() => void) | undefined;

  constructor(private readonly counts: DrainCounts) {}

  /** Whether a stop waits for the drain. */
  get waiting(): boolean {
    return this.#resolve !== undefined;
  }

  /** The pipeline completed. */
  pipelineDone(): void {
    this.#pipelineDone = true;
    this.check();
  }

  /** A stop begins to wait: resolves once a {@link check} finds the agent drained. */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => (this.#resolve = resolve));
  }

  /** Resolves the stop's wait if the agent has drained now. */
  check(): void {
    const done =
      ((this.#pipelineDone && this.counts.pendingDeadLetters() === 0) || this.counts.unsettled() === 0) &&
      (this.counts.holds?.() ?? 0) === 0;
    if (this.#resolve && done) {
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve();
    }
  }
}
