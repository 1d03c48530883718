import { Observable, type Observer, type OperatorFunction, type TeardownLogic } from 'rxjs';
import { Agent, type AgentHost, type AgentOptions } from '../agent/agent.js';
import { ConfigurationError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import type { DirectTopic } from '../topics/topic-stream.js';
import type { Topic } from '../topics/topic.js';

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

/** What the direct subscriptions of an app need from it. @internal */
export interface DirectSubscriptionsHost {
  readonly agentHost: AgentHost;
  /** The app's agents: a direct subscription's agent is listed there while the subscription lasts. */
  readonly agents: Agent<unknown, unknown>[];
  agentDefaults(): AgentOptions | undefined;
  topic(name: string): Topic<unknown, unknown> | undefined;
  /** Whether the app began to stop (a new subscription then completes at once). */
  stopping(): boolean;
}

/**
 * The direct subscriptions of an app (`topic.subscribe`, `topic.pipe(…).subscribe`): each is an agent
 * named `<topic>.subscriber` (`.subscriber-2`… while several run at once) in its own group, listed in the
 * app's agents while the subscription lasts. Ending one stops its agent (what was handed is committed, the
 * rest is left for the group's next subscription, which starts once this one has left the group).
 *
 * @example
 * ```ts
 * const direct = new DirectSubscriptions(host);
 * const teardown = direct.subscribe(orders, (message$) => message$, { next: console.log });
 * ```
 * @internal
 */
export class DirectSubscriptions {
  /** Subscriptions that ended and whose agents are still stopping, by agent name. */
  readonly #leaving = new Map<string, Promise<void>>();

  constructor(private readonly host: DirectSubscriptionsHost) {}

  /** Starts a direct subscription's agent; the returned teardown ends it. */
  subscribe(
    root: DirectTopic,
    pipeline: OperatorFunction<Message<unknown, unknown>, unknown>,
    observer: Partial<Observer<unknown>>,
  ): TeardownLogic {
    const agents = this.host.agents;
    const topic = this.host.topic(root.name);
    if (!topic) throw new ConfigurationError(`Topic ${root.name} was not declared with app.topic()`);
    if (this.host.stopping()) {
      observer.complete?.();
      return undefined;
    }
    const base = `${topic.name}.subscriber`;
    let name = base;
    for (let n = 2; agents.some((agent) => agent.name === name); n++) name = `${base}-${n}`;
    // The group's previous subscription may still be committing: start where it ends.
    const previous = this.#leaving.get(name);
    const subscription = new DirectSubscription(() => {
      agents.splice(agents.indexOf(agent), 1);
      // never rejects: a stop that failed is the agent's to report; the next subscription starts anyway
      const left = Promise.all([previous, agent.stop()]).then(
        () => undefined,
        () => undefined,
      );
      this.#leaving.set(name, left);
      void left.then(() => {
        if (this.#leaving.get(name) === left) this.#leaving.delete(name);
      });
    });
    const agent = new Agent<unknown, unknown>(
      this.host.agentHost,
      name,
      topic,
      subscription.pipeline(pipeline),
      { ...this.host.agentDefaults() },
      { kind: 'observer', observer, reading: () => subscription.reading },
    );
    subscription.attach(agent);
    agents.push(agent);
    void (previous ? previous.then(() => agent.start()) : agent.start());
    return () => subscription.release();
  }

  /** The agents of ended subscriptions still stopping: the app's stop waits for them too. */
  leaving(): Promise<void>[] {
    return [...this.#leaving.values()];
  }
}
