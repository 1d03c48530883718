import {
  type Observer,
  type OperatorFunction,
  type SchedulerLike,
  Subject,
  type Subscription,
  asyncScheduler,
} from 'rxjs';
import { failMessage, settleAtEnd } from '../core/ack.js';
import { NotAMessageError, PipelineCompletedError, RestartBudgetExceededError } from '../core/errors.js';
import { Lineage, type LineageOwner } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import { Message, USE, recordMessage } from '../core/message.js';
import type { Entry } from './partition-tracker.js';
import { type AgentScope, withAgentScope } from './partition-resources.js';
import type { RestartBudget } from './restart-budget.js';

/** What a {@link Supervisor} needs from its agent. @internal */
export interface SupervisorHost {
  readonly name: string;
  readonly logger: Logger;
  /** Owner of the lineages of the messages it hands to the pipeline. */
  readonly owner: LineageOwner;
  /** Records to hand to a restarted pipeline (unsettled, not waiting for a retry or a dead letter). */
  pending(): Iterable<Entry>;
  /** The pipeline cannot go on: the agent fails. */
  fail(error: unknown): void;
  /** A direct subscription's pipeline completed (`take`, `first`, `takeUntil`): the agent stops. */
  ended(): void;
  /** Offered to operators while the pipeline is subscribed (tables register there). */
  readonly scope?: AgentScope;
  /** Told of each lineage a record is pushed with, to report the records the pipeline drops. */
  readonly drops?: { watch(entry: Entry, lineage: Lineage): void };
}

/**
 * Where a pipeline's output goes: settled (an agent), or to a subscriber's observer, the pushed record
 * settling when the observer returned (a direct subscription to a topic, whose pipeline may complete:
 * the observer completes and the agent stops).
 * @internal
 */
export type PipelineEnd =
  | { readonly kind: 'settle' }
  | {
      readonly kind: 'observer';
      readonly observer: Partial<Observer<unknown>>;
      /** Whether the pipeline reads the records this agent pushes (false: `share()` reads another's). */
      readonly reading?: () => boolean;
    };

const NONE = Symbol('none');

/**
 * The pipeline's input: a Subject whose `next` hands the value straight to its observer when it has
 * exactly one (the usual case: the user's pipeline subscribed once). RxJS's `Subject.next` wraps every
 * call in an error-context closure and iterates a copy of its observers with an iterator: four to five
 * small objects per record on the hot path. With one observer the copy and the loop change nothing;
 * with none or several (a pipeline that subscribes to its input twice), or once closed, it is RxJS's.
 * Measured in issue 17: 1.16x the stateless reader's throughput on its own (BENCHMARKS.md). `observers`
 * and `isStopped` are public in RxJS 7 (marked for removal in 8); the spec "a pipeline that subscribes
 * to its input twice" covers the other path.
 */
class PipelineInput<T> extends Subject<T> {
  override next(value: T): void {
    const observers = this.observers;
    if (observers.length === 1 && !this.isStopped && !this.closed) observers[0]!.next(value);
    else super.next(value);
  }
}

/**
 * Runs an agent's pipeline the Erlang way: every record is pushed with a fresh lineage; an error thrown
 * while a record is pushed is that record's failure (it goes to the error policy); the pipeline is then
 * restarted (a fresh subscription of the user's function) and the records still in process are handed to
 * it again, so nothing is skipped. Restarts beyond the budget, a pipeline that completes while the topic
 * is open, or a pipeline function that throws fail the agent.
 * @internal
 */
export class Supervisor<T, K> {
  #input: Subject<Message<T, K | null>> = new PipelineInput<Message<T, K | null>>();
  #subscription: Subscription | undefined;
  #pushing: Entry | undefined;
  #pushError: unknown = NONE;
  #restarting = false;
  #stopping = false;
  #finished = false;
  #markDone!: () => void;
  readonly #done = new Promise<void>((resolve) => (this.#markDone = resolve));
  readonly #scheduler: SchedulerLike;

  constructor(
    private readonly host: SupervisorHost,
    private readonly pipeline: OperatorFunction<Message<T, K | null>, unknown>,
    private readonly end: PipelineEnd,
    private readonly budget: RestartBudget,
    scheduler?: SchedulerLike,
  ) {
    this.#scheduler = scheduler ?? asyncScheduler;
  }

  /** Restarts so far. */
  get restarts(): number {
    return this.budget.total;
  }

  /** Resolves when the pipeline has finished after {@link complete} (or failed for good). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Subscribes the pipeline; false when the pipeline function threw (the agent then failed). */
  start(): boolean {
    this.#input = new PipelineInput<Message<T, K | null>>();
    let output;
    try {
      output = this.pipeline(this.#input);
    } catch (error) {
      this.#finish();
      this.host.fail(error);
      return false;
    }
    const observer = {
      next: (value: unknown) => this.#output(value),
      error: (error: unknown) => this.#onError(error),
      complete: () => this.#onComplete(),
    };
    const scope = this.host.scope;
    const subscription = scope
      ? withAgentScope(scope, () => output.subscribe(observer))
      : output.subscribe(observer);
    // The pipeline may have errored or completed while subscribing.
    if (!subscription.closed) this.#subscription = subscription;
    return true;
  }

  /** Hands a record to the pipeline with a fresh lineage (later, at restart, while one is under way). */
  push(entry: Entry): void {
    const decoded = entry.decoded;
    if (this.#restarting || this.#finished || this.#subscription === undefined || !decoded) return;
    if (this.end.kind === 'observer' && !this.#input.observed) return; // nobody would see it: not settled
    const lineage = new Lineage(this.host.owner, entry);
    entry.lineage = lineage;
    entry.stage = 'processing';
    if (this.end.kind === 'settle') this.host.drops?.watch(entry, lineage);
    const { topic, partition } = entry.tracker;
    const message = recordMessage(
      topic,
      partition,
      entry.record,
      decoded.key,
      decoded.value,
      lineage,
    ) as Message<T, K | null>;
    const outer = this.#pushing;
    this.#pushing = entry;
    this.#pushError = NONE;
    // The push holds a reference: a record does not settle while it is still being pushed, so one
    // object reused within the push (`mergeMap((m) => [m, m])`) fails it instead of following a commit.
    lineage.retain();
    try {
      this.#input.next(message);
    } finally {
      this.#pushing = outer;
      if (this.end.kind === 'observer') this.#settlePushed(lineage);
      lineage.release();
    }
  }

  /**
   * A direct subscription's record, once pushed: failed if the subscriber threw; settled now, unless an
   * operator holds it across a write (deferred): then it settles by its references, once what the
   * operator emits has reached the subscriber (see {@link Supervisor.#output}).
   */
  #settlePushed(lineage: Lineage): void {
    const error = this.#pushError;
    this.#pushError = NONE;
    if (error !== NONE) lineage.fail(error);
    else if (!lineage.deferred) lineage.settleAll();
  }

  /**
   * A deferred record was handed on, after its write, by the operator that held it: for a direct
   * subscription the hand-off is its push, so it settles now (what reached the subscriber settled
   * already; what a plain operator turned into something else settles here). Within its own push, the
   * push decides.
   */
  handedOff(lineage: Lineage): void {
    if (this.end.kind === 'observer' && this.#pushing?.lineage !== lineage) lineage.settleAll();
  }

  /** Completes the input so the pipeline drains (batches flush; sinks start no new writes). */
  complete(): Promise<void> {
    this.#stopping = true;
    // a direct subscription whose pipeline reads nothing any more (released, or a take) has nothing to drain
    const unread = this.end.kind === 'observer' && !this.#input.observed;
    if (this.#subscription === undefined || unread) this.#finish();
    else this.#input.complete();
    return this.#done;
  }

  /**
   * A direct subscription's subscriber is gone: unsubscribes the pipeline's output. What still reads the
   * input (a `share()` serving other subscribers) goes on being fed until the agent stops.
   */
  release(): void {
    this.#subscription?.unsubscribe();
  }

  /** Cancels whatever the pipeline still runs. */
  dispose(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#finish();
  }

  #output(value: unknown): void {
    if (this.end.kind === 'observer') {
      try {
        this.end.observer.next?.(value);
      } catch (error) {
        if (this.#pushing) this.#pushError = error;
        else if (value instanceof Message) failMessage(value, error);
        else
          this.host.logger.error(
            { agent: this.host.name, err: error },
            'a subscriber threw outside of a push',
          );
        return;
      }
      // A message that reached the subscriber releases its reference (a deferred record settles so).
      if (value instanceof Message) {
        if (value[USE] === 'live') settleAtEnd(value);
      } else if (Array.isArray(value))
        for (const item of value as unknown[])
          if (item instanceof Message && item[USE] === 'live') settleAtEnd(item);
      return;
    }
    if (value instanceof Message) settleAtEnd(value);
    else if (Array.isArray(value) && value.every((item) => item instanceof Message)) {
      for (const item of value as Message<unknown, unknown>[]) settleAtEnd(item);
    } else {
      this.#subscription?.unsubscribe();
      this.#onError(new NotAMessageError('the end of the pipeline', value));
    }
  }

  #onError(error: unknown): void {
    this.#subscription = undefined;
    if (this.#stopping || this.#finished) return this.#finish();
    const entry = this.#pushing;
    if (entry) entry.lineage?.fail(error);
    if (!this.budget.take(this.#scheduler.now())) {
      this.#finish();
      this.host.fail(
        new RestartBudgetExceededError(this.host.name, this.budget.max, this.budget.withinMs, error),
      );
      return;
    }
    this.host.logger.warn(
      {
        agent: this.host.name,
        err: error,
        ...(entry
          ? { topic: entry.tracker.topic, partition: entry.tracker.partition, offset: entry.offset }
          : {}),
      },
      entry
        ? 'the pipeline failed on a message; the message goes to the error policy and the pipeline restarts'
        : 'the pipeline failed; restarting it with the messages still in process',
    );
    this.#restarting = true;
    this.#scheduler.schedule(() => this.#restart());
  }

  #onComplete(): void {
    this.#subscription = undefined;
    if (this.end.kind === 'observer') return this.#endObserver(this.end.observer);
    if (!this.#stopping && !this.#finished) this.host.fail(new PipelineCompletedError(this.host.name));
    this.#finish();
  }

  /** A direct subscription's pipeline completed, on its own or because the agent stops: so does the subscriber. */
  #endObserver(observer: Partial<Observer<unknown>>): void {
    const early = !this.#stopping && !this.#finished;
    this.#finish();
    if (early) this.host.ended();
    try {
      observer.complete?.();
    } catch (error) {
      this.host.logger.error({ agent: this.host.name, err: error }, 'a subscriber threw on complete');
    }
  }

  #restart(): void {
    this.#restarting = false;
    if (this.#stopping || this.#finished) return this.#finish();
    if (!this.start()) return;
    for (const entry of [...this.host.pending()]) this.push(entry);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#markDone();
  }
}
