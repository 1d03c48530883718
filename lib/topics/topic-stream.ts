import {
  Observable,
  type Observer,
  type Operator,
  type OperatorFunction,
  Subscriber,
  Subscription,
  type TeardownLogic,
} from 'rxjs';
import type { Message } from '../core/message.js';

/** Runs a direct subscription as an agent. @internal */
export interface DirectSubscriber {
  /**
   * Starts an agent whose output goes to `observer`; returns what stops it (the subscription's teardown).
   * The agent calls `observer.complete` when its pipeline completes (`take`, `first`, `takeUntil`) or
   * the app stops, and `observer.error` when it fails.
   */
  subscribeDirect(
    topic: DirectTopic,
    pipeline: OperatorFunction<Message<unknown, unknown>, unknown>,
    observer: Partial<Observer<unknown>>,
  ): TeardownLogic;
}

/** The topic at the root of a direct subscription. @internal */
export interface DirectTopic {
  readonly name: string;
}

type ObserverArgument<T> = Partial<Observer<T>> | ((value: T) => void) | null | undefined;

/** The observer a subscriber passed, whatever form it took. @internal */
export function toObserver<T>(
  observerOrNext?: ObserverArgument<T>,
  error?: ((error: unknown) => void) | null,
  complete?: (() => void) | null,
): Partial<Observer<T>> {
  if (typeof observerOrNext === 'function') {
    return { next: observerOrNext, ...(error ? { error } : {}), ...(complete ? { complete } : {}) };
  }
  return observerOrNext ?? {};
}

/**
 * What `topic.pipe(...)` returns: a cold Observable that remembers the operators applied to its topic, so
 * that subscribing runs them inside a supervised agent (its own consumer group, listed in `app.agents`):
 * a throw in any of them, or in the subscriber's `next`, fails the record being pushed instead of
 * crashing the process, and nothing is committed past it.
 *
 * Each subscription is one consumer, alive as long as the subscription: unsubscribing (directly, or
 * through any operator: `firstValueFrom`, `take`, `switchMap`…) stops it; what was handed to the
 * subscriber is committed, the rest is left for the next subscription of the same group. A pipeline that
 * completes (`take`, `first`, `takeUntil`) completes the subscriber and stops the consumer; `app.stop()`
 * completes every direct subscription.
 *
 * @example
 * ```ts
 * orders.pipe(map((m) => m.value.symbol)).subscribe((symbol) => console.log(symbol));
 * const firstOrder = await firstValueFrom(orders); // its consumer stops once it resolved
 * ```
 */
export class TopicStream<T> extends Observable<T> {
  readonly #host: DirectSubscriber;
  readonly #root: DirectTopic | undefined;
  readonly #operators: readonly Operator<unknown, unknown>[];

  /** @internal `root` undefined: this stream is the topic itself. */
  constructor(
    host: DirectSubscriber,
    root?: DirectTopic,
    operators: readonly Operator<unknown, unknown>[] = [],
  ) {
    // An Rx subscriber (an operator's, `firstValueFrom`'s): the teardown is tied to it, so its
    // `unsubscribe()` stops the consumer.
    super(function (this: Observable<T>, subscriber: Subscriber<T>): TeardownLogic {
      if (subscriber.closed) return undefined;
      return (this as TopicStream<T>).#start(subscriber as Partial<Observer<unknown>>);
    });
    this.#host = host;
    this.#root = root;
    this.#operators = operators;
  }

  /** @internal Keeps the chain a TopicStream, recording the operator. */
  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const next = operator ? [...this.#operators, operator as Operator<unknown, unknown>] : this.#operators;
    return new TopicStream<R>(this.#host, this.#root ?? (this as unknown as DirectTopic), next);
  }

  /**
   * Starts a supervised direct subscription (see the class description).
   *
   * @example
   * ```ts
   * const subscription = orders.pipe(filter((m) => m.value.quantity > 0)).subscribe(console.log);
   * subscription.unsubscribe(); // stops its consumer
   * ```
   */
  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void)): Subscription;
  /** @deprecated Pass an observer object instead (as RxJS 7 does). */
  override subscribe(
    next?: ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription;
  override subscribe(
    observerOrNext?: ObserverArgument<T>,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    // A plain observer is called as it is (not through a SafeSubscriber, which would report a throw in
    // `next` on its own instead of failing the record being pushed); the Subscription is its lifetime.
    const lifetime = new Subscription();
    const observer = toObserver(observerOrNext, error, complete) as Partial<Observer<unknown>>;
    lifetime.add(this.#start(closedWith(lifetime, observer)));
    return lifetime;
  }

  #start(observer: Partial<Observer<unknown>>): TeardownLogic {
    const operators = this.#operators;
    const pipeline = (input: Observable<Message<unknown, unknown>>): Observable<unknown> =>
      operators.reduce<Observable<unknown>>((source, operator) => source.lift(operator), input);
    return this.#host.subscribeDirect(this.#root ?? (this as unknown as DirectTopic), pipeline, observer);
  }
}

/**
 * `observer`, silent once `lifetime` is closed, and closing it on `error` and `complete` (what a
 * Subscriber does for an Rx observer).
 */
function closedWith<T>(lifetime: Subscription, observer: Partial<Observer<T>>): Partial<Observer<T>> {
  const end = (notify: () => void): void => {
    if (lifetime.closed) return;
    try {
      notify();
    } finally {
      lifetime.unsubscribe();
    }
  };
  return {
    next: (value) => {
      if (!lifetime.closed) observer.next?.(value);
    },
    error: (error: unknown) => end(() => observer.error?.(error)),
    complete: () => end(() => observer.complete?.()),
  };
}
