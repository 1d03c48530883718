import { Observable, type Observer, type Operator, type OperatorFunction, type Subscription } from 'rxjs';
import type { Message } from '../core/message.js';

/** Runs a direct subscription as an agent. @internal */
export interface DirectSubscriber {
  subscribeDirect(
    topic: DirectTopic,
    pipeline: OperatorFunction<Message<unknown, unknown>, unknown>,
    observer: Partial<Observer<unknown>>,
  ): Subscription;
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
 * What `topic.pipe(...)` returns: an Observable that remembers the operators applied to its topic, so
 * that subscribing runs them inside a supervised agent (its own consumer group, listed in `app.agents`,
 * stopped by `app.stop()`): a throw in any of them, or in the subscriber's `next`, fails the record being
 * pushed instead of crashing the process, and nothing is committed past it.
 *
 * @example
 * ```ts
 * orders.pipe(map((m) => m.value.symbol)).subscribe((symbol) => console.log(symbol));
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
    super();
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
   * subscription.unsubscribe(); // stops its agent
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
    const operators = this.#operators;
    const pipeline = (input: Observable<Message<unknown, unknown>>): Observable<unknown> =>
      operators.reduce<Observable<unknown>>((source, operator) => source.lift(operator), input);
    const observer = toObserver(observerOrNext, error, complete) as Partial<Observer<unknown>>;
    return this.#host.subscribeDirect(this.#root ?? (this as unknown as DirectTopic), pipeline, observer);
  }
}
