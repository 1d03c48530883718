/**
 * How often an agent may restart its pipeline: at most `max` restarts within any `withinMs` window.
 *
 * @example
 * ```ts
 * app.agent('prices', orders, pipeline, { restarts: { max: 10, withinMs: 60_000 } });
 * ```
 */
export interface RestartPolicy {
  /** Restarts allowed within the window (default 10). */
  readonly max?: number;
  /** The window, in ms (default 60 000). */
  readonly withinMs?: number;
}

/** Counts restarts in a sliding window. @internal */
export class RestartBudget {
  readonly max: number;
  readonly withinMs: number;
  readonly #times: number[] = [];
  #total = 0;

  constructor(policy: RestartPolicy = {}) {
    this.max = Math.max(0, policy.max ?? 10);
    this.withinMs = Math.max(1, policy.withinMs ?? 60_000);
  }

  /** Restarts so far. */
  get total(): number {
    return this.#total;
  }

  /** Records a restart at `now`; false when it is one too many for the window. */
  take(now: number): boolean {
    while (this.#times.length > 0 && this.#times[0]! <= now - this.withinMs) this.#times.shift();
    if (this.#times.length >= this.max) return false;
    this.#times.push(now);
    this.#total++;
    return true;
  }
}
