/**
 * The subscriptions of an operator emitting owned results (`aggregateWindows`, `windowJoin`) open on
 * its state: results go to the first one still running (one per group under `groupBy` → `mergeMap`),
 * then to the next when it ends, or wait for the next one to start.
 * @internal
 */
export class ResultBindings<B> {
  #current: B | undefined;
  readonly #all: B[] = [];

  constructor(
    private readonly host: {
      /** Results now go to `binding`: emit those not settled yet, close what is due, arm timers. */
      serve(binding: B): void;
      /** The current binding ended: its timers and retries are gone. */
      unserved(): void;
    },
  ) {}

  /** Where results go now, if any subscription runs. */
  get current(): B | undefined {
    return this.#current;
  }

  /** A subscription starts: results go to it, unless another one still runs. */
  bind(binding: B): void {
    this.#all.push(binding);
    if (this.#current === undefined) this.#serve(binding);
  }

  /** A subscription ended: results go to another one still running, or wait for the next. */
  unbind(binding: B): void {
    const index = this.#all.indexOf(binding);
    if (index >= 0) this.#all.splice(index, 1);
    if (this.#current !== binding) return;
    this.#current = undefined;
    this.host.unserved();
    const next = this.#all[0];
    if (next !== undefined) this.#serve(next);
  }

  #serve(binding: B): void {
    this.#current = binding;
    this.host.serve(binding);
  }
}
