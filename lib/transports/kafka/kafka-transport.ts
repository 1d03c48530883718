import { type Admin, Kafka } from 'kafkajs';
import { ConfigurationError } from '../../core/errors.js';
import { type Logger, defaultLogger } from '../../core/logger.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
  TransportConsumer,
} from '../transport.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { kafkaLogCreator, kafkaLogLevel } from './kafka-log.js';
import { type KafkaTransportOptions, describeKafka, parseKafkaUrl, secretsOf } from './kafka-options.js';
import { KafkaProducer } from './kafka-producer.js';

const DEFAULT_MAX_WAIT_MS = 500;
const HEARTBEAT_CHECK_MS = 500;

/**
 * The transport behind `kafka://`: Apache Kafka through kafkajs. Consumers join consumer groups and are
 * driven batch by batch with manual commits (see the README's processing contract); the producer is
 * idempotent and partitions keyed records as the Java client does; topics declared in the app are
 * created through the admin client. Settings and credentials are passed to kafkajs and never logged.
 *
 * @example
 * ```ts
 * const transport = new KafkaTransport({ brokers: ['127.0.0.1:9092'], clientId: 'orders' });
 * const app = createApp({ id: 'orders', transport });
 * // or: createApp({ id: 'orders', broker: 'kafka://user:pass@kafka-1:9093?ssl=true&sasl=scram-sha-512' })
 * ```
 */
export class KafkaTransport implements Transport {
  /** Brokers, TLS and SASL mechanism; never a secret. */
  readonly description: string;
  readonly #options: KafkaTransportOptions;
  readonly #logger: Logger;
  readonly #kafka: Kafka;
  readonly #consumers = new Set<KafkaConsumer>();
  #admin: Admin | undefined;
  #producer: KafkaProducer | undefined;
  #connecting: Promise<void> | undefined;

  constructor(options: KafkaTransportOptions) {
    if (!options.brokers || options.brokers.length === 0)
      throw new ConfigurationError('KafkaTransport needs at least one broker');
    this.#options = options;
    this.description = describeKafka(options);
    const clientId = options.clientId ?? 'rivulet';
    this.#logger = options.logger ?? defaultLogger(clientId);
    this.#kafka = new Kafka({
      brokers: [...options.brokers],
      clientId,
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
      ...(options.connectionTimeout !== undefined ? { connectionTimeout: options.connectionTimeout } : {}),
      ...(options.authenticationTimeout !== undefined
        ? { authenticationTimeout: options.authenticationTimeout }
        : {}),
      ...(options.requestTimeout !== undefined ? { requestTimeout: options.requestTimeout } : {}),
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
      logLevel: kafkaLogLevel(options.debugClient ?? false),
      logCreator: kafkaLogCreator(this.#logger, secretsOf(options)),
    });
  }

  /**
   * A transport for a `kafka://[user:pass@]host:port[,host:port…][?ssl=true&sasl=…&clientId=…]` URL.
   *
   * @example
   * ```ts
   * const transport = KafkaTransport.fromUrl('kafka://127.0.0.1:9092', 'orders');
   * ```
   */
  static fromUrl(
    url: string,
    clientId?: string,
    extra: Partial<Omit<KafkaTransportOptions, 'brokers'>> = {},
  ): KafkaTransport {
    return new KafkaTransport({ ...extra, ...parseKafkaUrl(url, clientId) });
  }

  connect(): Promise<void> {
    this.#connecting ??= (async () => {
      const admin = this.#kafka.admin();
      const producer = new KafkaProducer(this.#kafka);
      await admin.connect();
      await producer.connect();
      this.#admin = admin;
      this.#producer = producer;
      this.#logger.debug({ transport: this.description }, 'kafka transport connected');
    })();
    return this.#connecting;
  }

  async close(): Promise<void> {
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    await Promise.all([this.#producer?.disconnect(), this.#admin?.disconnect()]);
    this.#producer = undefined;
    this.#admin = undefined;
    this.#connecting = undefined;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.#connected('admin');
    // Ask first: creating an existing topic works but makes kafkajs log a misleading error.
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic.name));
    if (missing.length === 0) return;
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic: topic.name,
        numPartitions: topic.partitions ?? -1,
        replicationFactor: topic.replicationFactor ?? -1,
        configEntries: Object.entries(topic.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    if (created) this.#logger.debug({ topics: missing.map((t) => t.name) }, 'kafka topics created');
  }

  async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    const producer = await this.#connected('producer');
    return producer.produce(records);
  }

  async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<TransportConsumer> {
    const o = this.#options;
    const kafkaConsumer = this.#kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: o.maxWaitTimeInMs ?? DEFAULT_MAX_WAIT_MS,
      ...(o.sessionTimeout !== undefined ? { sessionTimeout: o.sessionTimeout } : {}),
      ...(o.heartbeatInterval !== undefined ? { heartbeatInterval: o.heartbeatInterval } : {}),
      ...(o.rebalanceTimeout !== undefined ? { rebalanceTimeout: o.rebalanceTimeout } : {}),
      ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
    });
    const consumer = new KafkaConsumer(
      kafkaConsumer,
      options,
      handlers,
      this.#logger,
      Math.min(HEARTBEAT_CHECK_MS, o.heartbeatInterval ?? HEARTBEAT_CHECK_MS),
    );
    this.#consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.#consumers.delete(consumer);
      await consumer.stop();
      throw error;
    }
    // close() stops whatever is left; stopping twice is harmless.
    return consumer;
  }

  async committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.#connected('admin');
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? [])
      .map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) }))
      .filter(({ offset }) => offset >= 0)
      .sort((a, b) => a.partition - b.partition);
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.#connected('admin');
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map(({ partition, high }) => ({ topic, partition, offset: Number(high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async #connected(part: 'admin'): Promise<Admin>;
  async #connected(part: 'producer'): Promise<KafkaProducer>;
  async #connected(part: 'admin' | 'producer'): Promise<Admin | KafkaProducer> {
    await this.connect();
    const client = part === 'admin' ? this.#admin : this.#producer;
    if (!client) throw new ConfigurationError('the Kafka transport is closed');
    return client;
  }
}
