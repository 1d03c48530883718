import type { Observer, OperatorFunction, TeardownLogic } from 'rxjs';
import { Agent, type AgentHost, type AgentOptions, type Pipeline } from '../agent/agent.js';
import { type AgentFailedError, ConfigurationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Message } from '../core/message.js';
import type { SinkHealthRegistry } from '../core/sink-health.js';
import type { DirectTopic } from '../topics/topic-stream.js';
import type { Topic } from '../topics/topic.js';
import type { Transport } from '../transports/transport.js';
import type { AppOptions } from './app-options.js';
import { DirectSubscriptions } from './direct-subscription.js';

/** What the agents of an app need from it. @internal */
export interface AppAgentsHost {
  /** Its `id`, `agentDefaults` (each agent's own options win) and `shutdownTimeoutMs`. */
  readonly options: AppOptions;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  /** The app's sink health: its agents' sinks report into it. */
  readonly sinkHealth: SinkHealthRegistry;
  topic(name: string): Topic<unknown, unknown> | undefined;
  /** Whether the app has started (an agent declared later starts at once). */
  started(): boolean;
  /** Whether the app began to stop (a new direct subscription then completes at once). */
  stopping(): boolean;
  /** An agent failed for good. */
  onAgentFailed(agent: Agent<unknown, unknown>, error: AgentFailedError): void;
}

/**
 * The agents of an app: those declared with `app.agent()` and those of its direct subscriptions
 * (`topic.subscribe`), one list (a name is declared once), and the one {@link AgentHost} they all run
 * with. `App` is its facade.
 *
 * @example
 * ```ts
 * const agents = new AppAgents(host);
 * agents.declare('count', orders, (order$) => order$, {});
 * await agents.start();
 * ```
 * @internal
 */
export class AppAgents {
  /** The agents declared so far, and the direct subscriptions' agents while they last. */
  readonly list: Agent<unknown, unknown>[] = [];
  readonly #host: AgentHost;
  /** The agents of direct subscriptions (`topic.subscribe`), while they last. */
  readonly #direct: DirectSubscriptions;

  constructor(private readonly app: AppAgentsHost) {
    this.#host = {
      appId: app.options.id,
      logger: app.logger,
      transport: () => app.transport(),
      onAgentFailed: (agent, error) => app.onAgentFailed(agent, error),
      shutdownTimeoutMs: app.options.shutdownTimeoutMs ?? 30_000,
      sinkHealth: app.sinkHealth,
    };
    this.#direct = new DirectSubscriptions({
      agentHost: this.#host,
      agents: this.list,
      agentDefaults: () => app.options.agentDefaults,
      topic: (name) => app.topic(name),
      stopping: () => app.stopping(),
    });
  }

  /** Declares an agent (see `App.agent`); once the app has started, it starts at once. */
  declare<T, K>(
    name: string,
    topic: Topic<T, K>,
    pipeline: Pipeline<T, K>,
    options: AgentOptions,
  ): Agent<T, K> {
    if (this.list.some((agent) => agent.name === name)) {
      throw new ConfigurationError(`Agent ${name} is declared twice`);
    }
    const agent = new Agent<T, K>(this.#host, name, topic, pipeline, {
      ...this.app.options.agentDefaults,
      ...options,
    });
    this.list.push(agent as unknown as Agent<unknown, unknown>);
    if (this.app.started()) void agent.start(); // a failure to start fails the agent, as any other
    return agent;
  }

  /** Starts every agent listed. */
  async start(): Promise<void> {
    await Promise.all(this.list.map((agent) => agent.start()));
  }

  /**
   * A subscription to a topic outside `app.agent()` is an agent too, named `<topic>.subscriber`
   * (`.subscriber-2`… while several run at once), in its own group, listed in `agents` while the
   * subscription lasts; each record settles when the subscriber's `next` returned, and fails if it threw.
   * The returned teardown ends it: the agent leaves `agents` and stops (what was handed is committed, the
   * rest is left for the group's next subscription, which starts once this one has left the group).
   * After `stop()` began, a new subscription completes at once.
   */
  subscribeDirect(
    root: DirectTopic,
    pipeline: OperatorFunction<Message<unknown, unknown>, unknown>,
    observer: Partial<Observer<unknown>>,
  ): TeardownLogic {
    return this.#direct.subscribe(root, pipeline, observer);
  }

  /** What a stop waits for: every agent listed and the direct subscriptions' agents still leaving. */
  stoppable(): { stop(timeoutMs: number): Promise<void> }[] {
    // a copy: a direct subscription that completes leaves `list`; those still leaving are waited for
    return [...this.list, ...this.#direct.leaving().map((left) => ({ stop: () => left }))];
  }
}
