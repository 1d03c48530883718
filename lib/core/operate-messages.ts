import type { Observable, Operator, OperatorFunction, Subscriber, TeardownLogic } from 'rxjs';
import { claimMessage } from './ack.js';
import { type Lineage, eachLineage } from './lineage.js';
import { LINEAGE, Message } from './message.js';

/**
 * What an operator built on {@link operateMessages} does with what reaches it, for one subscription.
 *
 * @example
 * ```ts
 * const handlers: MessageHandlers<Message<string, string>> = { next: (message) => settleClaimed(message, 'drop') };
 * ```
 * @internal
 */
export interface MessageHandlers<C> {
  /** Each value that reached the operator, once claimed (a message is held by the operator now). */
  next(claimed: C): void;
  /**
   * Whether work is still in flight (default: never). When the source completes, the subscriber completes
   * only once this is false: call {@link MessageRun.completeIfIdle} whenever a piece of work ends.
   */
  busy?(): boolean;
  /** Runs once the subscription ends (unsubscribed, errored or completed), after the source was unsubscribed. */
  teardown?(): void;
}

/**
 * What the kernel offers an operator for one subscription.
 *
 * @example
 * ```ts
 * write(batch).then(() => { active--; run.completeIfIdle(); });
 * ```
 * @internal
 */
export interface MessageRun<R> {
  /** Completes the subscriber if its source has completed and the operator is not busy. */
  completeIfIdle(): void;
  /**
   * Hands on what a deferring operator finished with later (a message, or a batch of messages, whose
   * write is durable). Once the hand-off returned, a record that no later operator deferred again is
   * reported to its owner (a direct subscription settles it then, as after a push).
   */
  emit(value: R): void;
}

/**
 * Options of {@link operateMessages} for an operator whose input is not one message (a sink's batches).
 *
 * @example
 * ```ts
 * const options: OperateMessagesOptions<SinkInput, SinkInput> = { claim: claimUnit };
 * ```
 * @internal
 */
export interface OperateMessagesOptions<I, C> {
  /**
   * Claims an arriving value for the operator, or returns undefined when it is unusable (and reported:
   * `subscriber` errored, or the record failed). Default: {@link claimMessage}.
   */
  readonly claim?: (input: I, where: string, subscriber: Subscriber<never>) => C | undefined;
  /**
   * The operator holds what it claimed across an asynchronous step (a table or sink write) and emits or
   * settles it later. Its records are marked deferred: a direct subscription settles them once what the
   * operator emits reaches the subscriber, not when the push returns (default false).
   */
  readonly defers?: boolean;
}

/**
 * The one kernel of rivulet's operators and sinks, as RxJS's `operate()` is of its own: it lifts (so a
 * direct subscription, `topic.pipe(...).subscribe()`, records the operator and runs it inside its agent),
 * claims each arriving message for the operator named `where` (anything but a message errors the
 * subscriber with `NotAMessageError`; a message used elsewhere fails its record with
 * `MessageReusedError`), passes errors through, completes once the source completed and the operator's
 * in-flight work ended ({@link MessageHandlers.busy}), and unsubscribes the source and runs the
 * operator's teardown when the subscription ends. `init` runs once per subscription; a throw in it
 * errors the subscriber. Nothing is allocated per message.
 *
 * @example
 * ```ts
 * const dropAll = <T, K>() =>
 *   operateMessages<Message<T, K>, Message<T, K>>('dropAll', () => ({ next: (m) => settleClaimed(m, 'dropAll') }));
 * ```
 * @internal
 */
export function operateMessages<T, K, R>(
  where: string,
  init: (subscriber: Subscriber<R>, run: MessageRun<R>) => MessageHandlers<Message<T, K>>,
  options?: Omit<OperateMessagesOptions<Message<T, K>, Message<T, K>>, 'claim'>,
): OperatorFunction<Message<T, K>, R>;
export function operateMessages<I, C, R>(
  where: string,
  init: (subscriber: Subscriber<R>, run: MessageRun<R>) => MessageHandlers<C>,
  options: OperateMessagesOptions<I, C>,
): OperatorFunction<I, R>;
export function operateMessages<I, C, R>(
  where: string,
  init: (subscriber: Subscriber<R>, run: MessageRun<R>) => MessageHandlers<C>,
  options?: OperateMessagesOptions<I, C>,
): OperatorFunction<I, R> {
  const claim = options?.claim ?? (claimMessage as unknown as Claim<I, C>);
  const operator = new MessageOperator<I, C, R>(where, init, claim, options?.defers ?? false);
  return (source) => source.lift(operator);
}

type Claim<I, C> = NonNullable<OperateMessagesOptions<I, C>['claim']>;

/** The operator `lift` records: one per `operateMessages` call, shared by all its subscriptions. */
class MessageOperator<I, C, R> implements Operator<I, R> {
  constructor(
    readonly where: string,
    readonly init: (subscriber: Subscriber<R>, run: MessageRun<R>) => MessageHandlers<C>,
    readonly claim: Claim<I, C>,
    readonly defers: boolean,
  ) {}

  call(subscriber: Subscriber<R>, source: Observable<I>): TeardownLogic {
    const run = new MessageOperatorRun<I, C, R>(this, subscriber);
    try {
      run.handlers = this.init(subscriber, run);
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }
    const upstream = source.subscribe(run);
    return () => {
      upstream.unsubscribe();
      run.handlers.teardown?.();
    };
  }
}

/** One subscription of a {@link MessageOperator}: the observer of its source. */
class MessageOperatorRun<I, C, R> implements MessageRun<R> {
  handlers!: MessageHandlers<C>;
  #sourceDone = false;

  constructor(
    readonly operator: MessageOperator<I, C, R>,
    readonly subscriber: Subscriber<R>,
  ) {}

  next(input: I): void {
    const claimed = this.operator.claim(input, this.operator.where, this.subscriber);
    if (claimed === undefined) return;
    if (this.operator.defers) markDeferred(claimed);
    this.handlers.next(claimed);
  }

  error(error: unknown): void {
    this.subscriber.error(error);
  }

  complete(): void {
    this.#sourceDone = true;
    this.completeIfIdle();
  }

  emit(value: R): void {
    eachMessageLineage(value, unmarkLineage);
    this.subscriber.next(value);
    eachMessageLineage(value, handedOff);
  }

  completeIfIdle(): void {
    if (this.#sourceDone && !this.subscriber.closed && !this.handlers.busy?.()) this.subscriber.complete();
  }
}

const markLineage = (lineage: Lineage): void => {
  lineage.deferred = true;
};
const unmarkLineage = (lineage: Lineage): void => {
  lineage.deferred = false;
};
const handedOff = (lineage: Lineage): void => {
  if (!lineage.deferred && !lineage.done) lineage.owner.handedOff?.(lineage);
};

/** Marks the records of a claimed message (or batch of messages) deferred. */
function markDeferred(claimed: unknown): void {
  eachMessageLineage(claimed, markLineage);
}

/** Runs `action` on each lineage of a message, or of each message of a batch. */
function eachMessageLineage(value: unknown, action: (lineage: Lineage) => void): void {
  if (value instanceof Message) eachLineage(value[LINEAGE], action);
  else if (Array.isArray(value))
    for (const item of value as readonly unknown[])
      if (item instanceof Message) eachLineage(item[LINEAGE], action);
}
