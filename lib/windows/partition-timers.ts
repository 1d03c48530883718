import { type SchedulerLike, Subscription } from 'rxjs';

/**
 * One timer per partition, on a scheduler, all cancelled at once when the subscription that armed
 * them ends (the idle closer's, a stream join's idle sides').
 * @internal
 */
export class PartitionTimers<P extends object, T = undefined> {
  #timers = new Subscription();
  #armed = new WeakMap<P, { at: number; tag: T; timer: Subscription }>();

  /** When the partition's timer fires, and what it was armed for, if one is armed. */
  armed(part: P): { readonly at: number; readonly tag: T } | undefined {
    return this.#armed.get(part);
  }

  /** Arms `fire` at `at` (scheduler time) for the partition, in place of its timer armed before. */
  set(part: P, at: number, tag: T, scheduler: SchedulerLike, fire: () => void): void {
    const armed = this.#armed.get(part);
    if (armed) {
      armed.timer.unsubscribe();
      this.#timers.remove(armed.timer);
    }
    const timer = scheduler.schedule(
      () => {
        this.#timers.remove(timer);
        if (this.#armed.get(part)?.timer === timer) this.#armed.delete(part);
        fire();
      },
      Math.max(0, at - scheduler.now()),
    );
    this.#armed.set(part, { at, tag, timer });
    this.#timers.add(timer);
  }

  /** Cancels every timer. */
  stop(): void {
    this.#timers.unsubscribe();
    this.#timers = new Subscription();
    this.#armed = new WeakMap();
  }
}
