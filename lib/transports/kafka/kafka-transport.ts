import { type Admin, Kafka, type KafkaConfig } from 'kafkajs';
import type { Backoff } from '../../core/error-policy.js';
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
import { KafkaPartitionReader } from './kafka-partition-reader.js';
import {
  type GroupTimings,
  type KafkaTransportOptions,
  describeKafka,
  groupTimings,
  parseKafkaUrl,
  secretsOf,
} from './kafka-options.js';
import { KafkaProducer } from './kafka-producer.js';
import { createTopics } from './kafka-topics.js';
import { TransportClosedError } from '../transport-closed-error.js';

export { TopicsNotReadyError } from './kafka-topics.js';

const DEFAULT_MAX_WAIT_MS = 500;
const HEARTBEAT_CHECK_MS = 500;
/**
 * Fetch sizes. kafkajs decodes a whole fetch response at once, and every record's key and value are
 * views on the response's buffer: the response lives until the agent has taken its last record. With
 * kafkajs's defaults (1 MiB per partition, 10 MiB per response) and a slow sink, that is tens of
 * thousands of records held for seconds, long enough to reach V8's old generation and pile up there
 * (and in external memory) until a full GC: RSS grew by tens of MiB. Smaller responses die young;
 * throughput on a fast pipeline is unchanged (see BENCHMARKS.md).
 */
const DEFAULT_MAX_BYTES_PER_PARTITION = 256 * 1024;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const TOPIC_BACKOFF: Backoff = { initialDelayMs: 100, maxDelayMs: 2000 };
const TOPIC_READY_TIMEOUT_MS = 30_000;

/**
 * What {@link KafkaTransport} uses of kafkajs's `Kafka` client.
 * @internal Replaced by fakes in unit tests.
 */
export type KafkaClient = Pick<Kafka, 'admin' | 'producer' | 'consumer'>;

/**
 * Seams of {@link KafkaTransport} for tests.
 * @internal
 */
export interface KafkaTransportInternals {
  /** Makes the kafkajs client (default `new Kafka(config)`). */
  readonly client?: (config: KafkaConfig) => KafkaClient;
  /** Backoff between checks that new topics are ready (default 100 ms doubling to 2 s). */
  readonly topicBackoff?: Backoff;
  /** Longest `ensureTopics` waits for new topics to be ready, in ms (default 30 000). */
  readonly topicReadyTimeoutMs?: number;
}

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
  readonly #group: GroupTimings;
  readonly #logger: Logger;
  readonly #kafka: KafkaClient;
  /** The same client, retrying nothing itself: connection attempts, paced by rivulet's `Connection`. */
  readonly #probe: () => KafkaClient;
  readonly #internals: KafkaTransportInternals;
  readonly #consumers = new Set<KafkaConsumer>();
  #connecting: Promise<Admin> | undefined;
  #producing: Promise<KafkaProducer> | undefined;
  /** After close() and until connect(): nothing opens a connection. */
  #closed = false;

  /** @param internals For tests only. */
  constructor(options: KafkaTransportOptions, internals: KafkaTransportInternals = {}) {
    if (!options.brokers || options.brokers.length === 0)
      throw new ConfigurationError('KafkaTransport needs at least one broker');
    this.#options = options;
    this.#group = groupTimings(options);
    this.description = describeKafka(options);
    const clientId = options.clientId ?? 'rivulet';
    this.#logger = options.logger ?? defaultLogger(clientId);
    this.#internals = internals;
    const makeClient = internals.client ?? ((config: KafkaConfig) => new Kafka(config));
    const config: KafkaConfig = {
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
    };
    this.#kafka = makeClient(config);
    let probe: KafkaClient | undefined;
    this.#probe = () => (probe ??= makeClient({ ...config, retry: { ...config.retry, retries: 0 } }));
  }

  /**
   * A transport for a `kafka://[user:pass@]host:port[,host:port…][?ssl=true&sasl=…&clientId=…&sessionTimeout=…]` URL
   * (see `parseKafkaUrl` for every parameter).
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

  /**
   * Connects the admin client (which also tells whether the brokers can be reached). An attempt is one
   * try, without kafkajs's own retries: the caller paces its attempts (the app's connection retries
   * with backoff and logs each). A failed connect leaves nothing behind: the next call tries again.
   * The producer connects on the first produce.
   */
  async connect(): Promise<void> {
    this.#closed = false;
    await this.#adminClient();
  }

  /** Stops the consumers and disconnects; later uses reject with `TransportClosedError` until `connect()`. */
  async close(): Promise<void> {
    this.#closed = true;
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    const [admin, producer] = [this.#connecting, this.#producing];
    this.#connecting = undefined;
    this.#producing = undefined;
    await Promise.all([
      producer?.then((client) => client.disconnect()).catch(() => undefined),
      admin?.then((client) => client.disconnect()).catch(() => undefined),
    ]);
  }

  /**
   * Creates the topics that do not exist yet, then waits until the cluster's metadata shows a leader
   * for every partition of each new one and those leaders answer for the partitions' offsets (retrying
   * the errors a fresh topic meets for a while, such as UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE
   * or NOT_LEADER_OR_FOLLOWER, with backoff, up to a bound). A setting the broker refuses (replication
   * factor, config) is a {@link ConfigurationError}.
   */
  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.#adminClient();
    // Ask first: creating an existing topic works but makes kafkajs log a misleading error.
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic.name));
    if (missing.length === 0) return;
    await createTopics(admin, missing, {
      logger: this.#logger,
      backoff: this.#internals.topicBackoff ?? TOPIC_BACKOFF,
      readyTimeoutMs: this.#internals.topicReadyTimeoutMs ?? TOPIC_READY_TIMEOUT_MS,
    });
  }

  async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    const producer = await this.#producer();
    return producer.produce(records);
  }

  async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<TransportConsumer> {
    const o = this.#options;
    const kafkaConsumer = this.#kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: o.maxWaitTimeInMs ?? DEFAULT_MAX_WAIT_MS,
      ...this.#group,
      maxBytesPerPartition: o.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
      maxBytes: o.maxBytes ?? DEFAULT_MAX_BYTES,
    });
    const consumer = new KafkaConsumer(
      kafkaConsumer,
      options,
      handlers,
      this.#logger,
      Math.min(HEARTBEAT_CHECK_MS, this.#group.heartbeatInterval),
      this.description,
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
    const admin = await this.#adminClient();
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? [])
      .map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) }))
      .filter(({ offset }) => offset >= 0)
      .sort((a, b) => a.partition - b.partition);
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.#adminClient();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map(({ partition, high }) => ({ topic, partition, offset: Number(high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * Reads partitions by offset range (see `PartitionReader`), in a short-lived consumer group of its
   * own that never commits. Abort it through `handlers.signal` before closing the transport.
   */
  async readPartitions(
    ...[topic, ranges, handlers]: Parameters<KafkaPartitionReader['read']>
  ): ReturnType<KafkaPartitionReader['read']> {
    const admin = await this.#adminClient();
    const o = this.#options;
    return new KafkaPartitionReader(this.#kafka, admin, this.#logger, {
      ...o,
      clientId: o.clientId ?? 'rivulet',
      maxWaitTimeInMs: o.maxWaitTimeInMs ?? DEFAULT_MAX_WAIT_MS,
    }).read(topic, ranges, handlers);
  }

  /** The connected admin client; a failed connect is forgotten, so the next call tries again. */
  #adminClient(): Promise<Admin> {
    if (this.#closed) return Promise.reject(new TransportClosedError(this.description));
    if (!this.#connecting) {
      const connecting = (async () => {
        // kafkajs retries a connection five times (about 10 s) before it gives up; the app's connection
        // retries with a backoff of its own and logs each attempt. A probe that retries nothing makes
        // an attempt one try, so the first warning comes at once, not after kafkajs's retries.
        await this.#connectOnce(this.#probe().admin(), true);
        return this.#connectOnce(this.#kafka.admin(), false);
      })();
      connecting.catch(() => {
        if (this.#connecting === connecting) this.#connecting = undefined;
      });
      this.#connecting = connecting;
    }
    return this.#connecting;
  }

  /** Connects `admin`, and disconnects it again when that fails or when it is only a probe. */
  async #connectOnce(admin: Admin, probe: boolean): Promise<Admin> {
    try {
      await admin.connect();
    } catch (error) {
      await admin.disconnect().catch(() => undefined);
      throw this.#refused(error);
    }
    if (probe) await admin.disconnect().catch(() => undefined);
    else this.#logger.debug({ transport: this.description }, 'kafka transport connected');
    return admin;
  }

  /** The producer, created and connected on the first produce (concurrent first produces share it). */
  #producer(): Promise<KafkaProducer> {
    if (this.#closed) return Promise.reject(new TransportClosedError(this.description));
    if (!this.#producing) {
      const producing = (async () => {
        const producer = new KafkaProducer(this.#kafka);
        try {
          await producer.connect();
        } catch (error) {
          await producer.disconnect().catch(() => undefined);
          throw this.#refused(error);
        }
        return producer;
      })();
      producing.catch(() => {
        if (this.#producing === producing) this.#producing = undefined;
      });
      this.#producing = producing;
    }
    return this.#producing;
  }

  /** Credentials the brokers refuse do not heal by retrying: a {@link ConfigurationError}. */
  #refused(error: unknown): unknown {
    for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
      if (cause.name === 'KafkaJSSASLAuthenticationError')
        return new ConfigurationError(`${this.description} refused the credentials: ${cause.message}`, {
          cause: error,
        });
      cause = cause.cause;
    }
    return error;
  }
}
