import { Observable, type OperatorFunction } from 'rxjs';
import type { Message } from '../core/message.js';

/**
 * What a {@link DirectSubscription} drives: the agent running it.
 *
 * @example
 * ```ts
 * const driven: DirectAgent = agent; // an Agent created with `subscription.pipeline(pipeline)`
 * ```
 * @internal
 */
export interface DirectAgent {
  /** The subscriber is gone: unsubscribe the pipeline's output (the records it still reads keep flowing). */
  release(): void;
  stop(): Promise<void>;
}

/**
 * The lifetime of one direct subscription's agent. The agent consumes while its pipeline reads the
 * records it pushes. That is the subscriber's whole life, except under a multicasting operator
 * (`topic.pipe(share())`): there the first subscription's pipeline reads for every subscriber, so it
 * keeps consuming until the last one is gone, and the later subscriptions read nothing of their own and
 * consume nothing.
 *
 * @example
 * ```ts
 * const subscription = new DirectSubscription(() => void agent.stop());
 * const agent = new Agent(host, name, topic, subscription.pipeline(pipeline), {}, { kind: 'observer', observer });
 * subscription.attach(agent);
 * return () => subscription.release(); // the teardown of the subscriber's subscription
 * ```
 * @internal
 */
export class DirectSubscription {
  #readers = 0;
  #released = false;
  #retired = false;
  #agent: DirectAgent | undefined;

  /** @param retire Called once, when the agent is to stop for good: the app stops it and lets it go. */
  constructor(private readonly retire: () => void) {}

  /** The agent's pipeline, counting who reads its input. */
  pipeline<T>(
    pipeline: OperatorFunction<Message<T, unknown>, unknown>,
  ): OperatorFunction<Message<T, unknown>, unknown> {
    return (input) =>
      pipeline(
        new Observable<Message<T, unknown>>((subscriber) => {
          this.#readers++;
          const reading = input.subscribe(subscriber);
          return () => {
            reading.unsubscribe();
            // a pipeline that errors stops reading too, then restarts: only a released one retires
            if (--this.#readers === 0 && this.#released) this.#retire();
          };
        }),
      );
  }

  /** Whether the pipeline reads its own records (false: a multicast operator reads another's). */
  get reading(): boolean {
    return this.#readers > 0;
  }

  /** Ties the subscription to its agent (created with {@link pipeline}). */
  attach(agent: DirectAgent): void {
    this.#agent = agent;
  }

  /** The subscriber is gone (unsubscribed, completed or errored). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#agent?.release();
    if (this.#readers === 0) this.#retire();
  }

  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.retire();
  }
}
