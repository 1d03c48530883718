import type { Codec } from '../codecs/codec.js';
import { json } from '../codecs/json.js';
import { string } from '../codecs/string.js';
import type { Logger } from '../core/logger.js';
import { Topic, type TopicHost, type TopicOptions } from '../topics/topic.js';
import type { Transport } from '../transports/transport.js';
import type { AppOptions } from './app-options.js';
import { Connection } from './connection.js';

/** What the topics of an app need from it. @internal */
export interface AppTopicsHost {
  /** Its `id` (the client id), and `broker` or `transport`. */
  readonly options: AppOptions;
  readonly logger: Logger;
  /** What each topic sends through and subscribes with: the app. */
  readonly topicHost: TopicHost;
}

/**
 * The topics an app declares and the broker connection they are created on: a name is declared once
 * (declared again the same way, it is the same Topic), and connecting creates every topic declared by
 * then. `App` is its facade.
 *
 * @example
 * ```ts
 * const topics = new AppTopics({ options: { id: 'orders' }, logger, topicHost: app });
 * const orders = topics.declare('orders', { partitions: 6 }, Topic.declarationSite());
 * const transport = await topics.connected(); // creates `orders`
 * ```
 * @internal
 */
export class AppTopics {
  readonly #topics = new Map<string, Topic<unknown, unknown>>();
  /** The broker connection: retried until connected, a failed attempt never kept. */
  #connection: Connection | undefined;

  constructor(private readonly host: AppTopicsHost) {}

  /**
   * Declares `name` (see `App.topic`); `declaredAt` is where the user's code called `app.topic()`, taken
   * by the caller so that this file's frame is not the one named.
   */
  declare<T, K>(name: string, options: TopicOptions<T, K>, declaredAt: string | undefined): Topic<T, K> {
    const valueCodec = options.value ?? (json() as Codec<T>);
    const keyCodec = options.key ?? (string() as Codec<K>);
    const existing = this.#topics.get(name) as Topic<T, K> | undefined;
    if (existing) return existing.redeclared(valueCodec, keyCodec, options, declaredAt);
    const topic = new Topic<T, K>(this.host.topicHost, name, valueCodec, keyCodec, options, declaredAt);
    this.#topics.set(name, topic as Topic<unknown, unknown>);
    return topic;
  }

  /** The topic declared with that name, if any. */
  get(name: string): Topic<unknown, unknown> | undefined {
    return this.#topics.get(name);
  }

  /** The broker connection, once something asked for it (a stop aborts and closes it). */
  get connection(): Connection | undefined {
    return this.#connection;
  }

  /** The connected transport (see `App.transport`): every declared topic is created on connecting. */
  connected(): Promise<Transport> {
    return this.#link().connected();
  }

  /** The transport for producing to `topic`, which it creates if needed (see `App.transportFor`). */
  withTopic(topic: Topic<unknown, unknown>): Promise<Transport> {
    return this.#link().withTopic(topicSpec(topic));
  }

  /** The broker connection, created on first use. */
  #link(): Connection {
    this.#connection ??= new Connection({
      clientId: this.host.options.id,
      logger: this.host.logger,
      topics: () => [...this.#topics.values()].map(topicSpec),
      ...(this.host.options.transport ? { transport: this.host.options.transport } : {}),
      ...(this.host.options.broker !== undefined ? { broker: this.host.options.broker } : {}),
    });
    return this.#connection;
  }
}

function topicSpec(topic: Topic<unknown, unknown>) {
  const { partitions, replicationFactor, config } = topic.options;
  return { name: topic.name, partitions, replicationFactor, config };
}
