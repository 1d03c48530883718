import type { Codec } from '../codecs/codec.js';
import type { ProducerRecord, RecordMetadata, Transport } from '../transports/transport.js';
import type { Message, MessageHeaders } from '../core/message.js';
import { type DirectSubscriber, TopicStream } from './topic-stream.js';
import { assertSameDeclaration, declarationSite } from './topic-declaration.js';

/**
 * How a topic is declared with `app.topic()`.
 *
 * @example
 * ```ts
 * const orders = app.topic('orders', { value: json(Order), key: string(), partitions: 6 });
 * const audit = app.topic('audit', { replicationFactor: 3, config: { 'retention.ms': '86400000' } });
 * ```
 */
export interface TopicOptions<T, K> {
  /** Codec of values (default `json()`, values typed `unknown`). */
  readonly value?: Codec<T>;
  /** Codec of keys (default `string()`). */
  readonly key?: Codec<K>;
  /** Partitions to create the topic with when it does not exist (default: the broker's default). */
  readonly partitions?: number;
  /** Replication factor when the topic is created (Kafka only; default: the broker's default). */
  readonly replicationFactor?: number;
  /** Topic configuration when created (Kafka only), e.g. `{ 'retention.ms': '86400000' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

/**
 * Extra fields of a record to send.
 *
 * @example
 * ```ts
 * await orders.send(order, { key: order.user, headers: { source: 'import' }, partition: 0 });
 * ```
 */
export interface SendOptions<K> {
  readonly key?: K | null;
  readonly headers?: MessageHeaders;
  /** Write to this partition instead of the one the key hashes to. */
  readonly partition?: number;
  readonly timestamp?: number;
}

/**
 * A record to send with {@link Topic.sendMany}.
 *
 * @example
 * ```ts
 * const records: OutgoingRecord<Order, string>[] = batch.map((order) => ({ key: order.user, value: order }));
 * await orders.sendMany(records);
 * ```
 */
export interface OutgoingRecord<T, K> extends SendOptions<K> {
  readonly value: T;
}

/** What a topic needs from its app. @internal */
export interface TopicHost extends DirectSubscriber {
  transportFor(topic: Topic<unknown, unknown>): Promise<Transport>;
}

/**
 * A Kafka topic with typed keys and values. It *is* a cold `Observable` of its messages: each subscription
 * (directly, after `pipe`, or through any operator) runs a small supervised agent named `<topic>.subscriber`
 * in its own consumer group `<app id>.<topic>.subscriber` (`-2`, `-3`… while several run at once), listed
 * in `app.agents` for as long as the subscription lasts. Each message is settled (and its offset
 * committed) once the subscriber's `next` has returned; if it throws, the message goes to the error
 * policy instead. Unsubscribing stops the consumer and leaves the rest for the group's next subscription;
 * `take`, `first` and `takeUntil` complete it; `app.stop()` completes it. For asynchronous work, give the
 * topic to `app.agent()`.
 *
 * @example
 * ```ts
 * const orders = app.topic('orders', { value: json(Order), partitions: 6 });
 * await orders.send({ user: 'u1', symbol: 'ACME', quantity: 10 }, { key: 'u1' });
 * orders.pipe(map((m) => m.value.symbol)).subscribe(console.log);
 * ```
 */
export class Topic<T = unknown, K = string> extends TopicStream<Message<T, K | null>> {
  /** @internal Use `app.topic()`. */
  constructor(
    private readonly host: TopicHost,
    /** Topic name. */
    readonly name: string,
    /** Codec of values. */
    readonly valueCodec: Codec<T>,
    /** Codec of keys. */
    readonly keyCodec: Codec<K>,
    /** Options the topic was declared with. */
    readonly options: TopicOptions<T, K>,
    /** @internal Where `app.topic()` was called (`file:line:column`), named when it is declared twice differently. */
    readonly declaredAt?: string,
  ) {
    super(host);
  }

  /** @internal Where `app.topic()` is being called from (see `declaredAt`). */
  static declarationSite(): string | undefined {
    return declarationSite();
  }

  /**
   * This topic, if a second declaration matches the first; otherwise throws a `ConfigurationError` that
   * names both declarations.
   * @internal
   */
  redeclared(
    valueCodec: Codec<T>,
    keyCodec: Codec<K>,
    options: TopicOptions<T, K>,
    declaredAt: string | undefined,
  ): this {
    assertSameDeclaration(
      this.name,
      { ...this.options, valueCodec: this.valueCodec, keyCodec: this.keyCodec, site: this.declaredAt },
      { ...options, valueCodec, keyCodec, site: declaredAt },
    );
    return this;
  }

  /**
   * Encodes and produces one record. Resolves when the broker has it.
   *
   * @example
   * ```ts
   * const { partition, offset } = await activities.send(activity, { key: activity.user });
   * ```
   */
  async send(value: T, options: SendOptions<K> = {}): Promise<RecordMetadata> {
    const [metadata] = await this.sendMany([{ ...options, value }]);
    return metadata!;
  }

  /**
   * Encodes and produces several records in one request.
   *
   * @example
   * ```ts
   * await orders.sendMany(generated.map((order) => ({ key: order.user, value: order })));
   * ```
   */
  async sendMany(records: readonly OutgoingRecord<T, K>[]): Promise<RecordMetadata[]> {
    const transport = await this.host.transportFor(this as Topic<unknown, unknown>);
    return transport.produce(records.map((record) => this.encode(record)));
  }

  /** The record the transport produces for a value. @internal */
  encode(record: OutgoingRecord<T, K>): ProducerRecord {
    return {
      topic: this.name,
      key: record.key === undefined || record.key === null ? null : this.keyCodec.encode(record.key),
      value: this.valueCodec.encode(record.value),
      ...(record.headers ? { headers: record.headers } : {}),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
      ...(record.timestamp !== undefined ? { timestamp: record.timestamp } : {}),
    };
  }
}
