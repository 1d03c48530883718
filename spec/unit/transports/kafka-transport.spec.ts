import { expect } from 'chai';
import {
  type Admin,
  type ConsumerConfig,
  type KafkaConfig,
  type ITopicMetadata,
  KafkaJSAggregateError,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  type Producer,
  type ProducerBatch,
  type RecordMetadata,
} from 'kafkajs';
import { ConfigurationError, TransportClosedError, silentLogger } from '../../../lib/index.js';
import { KafkaTransport, TopicsNotReadyError } from '../../../lib/transports/kafka/kafka-transport.js';
import type { KafkaClient } from '../../../lib/transports/kafka/kafka-transport.js';
import { type KafkaTransportOptions, parseKafkaUrl } from '../../../lib/kafka.js';

/** A Kafka protocol error as kafkajs raises it. */
function protocolError(type: string, message: string, retriable = true): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(message), { type, code: 0, retriable }));
}

const notHosted = (): KafkaJSProtocolError =>
  protocolError('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition');

/** A kafkajs admin whose topic creation and metadata answer as a script says. */
class FakeAdmin {
  topics = new Map<string, number>();
  connects = 0;
  disconnects = 0;
  createCalls = 0;
  metadataCalls = 0;
  /** Errors thrown by the next createTopics calls, in order. */
  createFailures: Error[] = [];
  /** Errors thrown by the next fetchTopicMetadata calls, in order (`'leaderless'`: answer without leaders). */
  metadataFailures: (Error | 'leaderless')[] = [];
  connectFailures: Error[] = [];
  waitForLeaders: boolean[] = [];
  offsetCalls = 0;
  /** Errors thrown by the next fetchTopicOffsets calls, in order. */
  offsetFailures: Error[] = [];

  client(): Admin {
    const admin: Partial<Admin> = {
      connect: async () => {
        this.connects++;
        const failure = this.connectFailures.shift();
        if (failure) throw failure;
      },
      disconnect: async () => void this.disconnects++,
      listTopics: async () => [...this.topics.keys()],
      createTopics: async ({ topics, waitForLeaders }) => {
        this.createCalls++;
        this.waitForLeaders.push(waitForLeaders ?? true);
        const failure = this.createFailures.shift();
        for (const { topic, numPartitions } of topics)
          this.topics.set(topic, numPartitions && numPartitions > 0 ? numPartitions : 1);
        if (failure) throw failure;
        return true;
      },
      fetchTopicMetadata: async (options) => {
        this.metadataCalls++;
        const failure = this.metadataFailures.shift();
        if (failure instanceof Error) throw failure;
        const topics: ITopicMetadata[] = (options?.topics ?? []).map((name) => ({
          name,
          partitions: Array.from({ length: this.topics.get(name) ?? 0 }, (_, partitionId) => ({
            partitionErrorCode: failure === 'leaderless' ? 5 : 0,
            partitionId,
            leader: failure === 'leaderless' ? -1 : 1,
            replicas: [1],
            isr: [1],
          })),
        }));
        return { topics };
      },
      fetchTopicOffsets: async (topic) => {
        this.offsetCalls++;
        const failure = this.offsetFailures.shift();
        if (failure) throw failure;
        return Array.from({ length: this.topics.get(topic) ?? 0 }, (_, partition) => ({
          partition,
          offset: '0',
          high: '0',
          low: '0',
        }));
      },
    };
    return admin as Admin;
  }
}

/** A kafkajs client that counts what the transport creates. */
class FakeKafka {
  readonly admin = new FakeAdmin();
  admins = 0;
  producers = 0;
  producerConnects = 0;
  sent: ProducerBatch[] = [];
  /** Holds producer connects until opened. */
  gate: Promise<void> | undefined;
  consumerConfigs: ConsumerConfig[] = [];

  client(): KafkaClient {
    return {
      admin: () => {
        this.admins++;
        return this.admin.client();
      },
      producer: () => {
        this.producers++;
        const producer: Partial<Producer> = {
          connect: async () => {
            this.producerConnects++;
            await this.gate;
          },
          disconnect: async () => {},
          sendBatch: async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
            this.sent.push(batch);
            return (batch.topicMessages ?? []).map(({ topic }) => ({
              topicName: topic,
              partition: 0,
              errorCode: 0,
              baseOffset: '0',
            }));
          },
        };
        return producer as Producer;
      },
      consumer: (config: ConsumerConfig) => {
        this.consumerConfigs.push(config);
        throw new Error('no consumer in these tests');
      },
    };
  }
}

function transportOn(
  kafka: FakeKafka,
  topicReadyTimeoutMs = 5000,
  options: Partial<KafkaTransportOptions> = {},
): KafkaTransport {
  return new KafkaTransport(
    { brokers: ['broker-1:9092'], clientId: 'test', logger: silentLogger, ...options },
    {
      client: () => kafka.client(),
      topicBackoff: { initialDelayMs: 1, maxDelayMs: 5, jitter: false },
      topicReadyTimeoutMs,
    },
  );
}

describe('KafkaTransport.ensureTopics', () => {
  it('waits until the metadata shows every new partition with a leader, retrying "does not host this topic-partition"', async () => {
    const kafka = new FakeKafka();
    kafka.admin.metadataFailures = [notHosted(), notHosted(), 'leaderless', notHosted()];
    const transport = transportOn(kafka);

    await transport.ensureTopics([{ name: 'orders', partitions: 3 }]);

    expect(kafka.admin.createCalls, 'created once').to.equal(1);
    expect(kafka.admin.waitForLeaders).to.deep.equal([false]);
    expect(kafka.admin.metadataCalls).to.equal(5);
  });

  it('waits until the leaders answer for the new partitions, retrying NOT_LEADER_OR_FOLLOWER on their offsets', async () => {
    const kafka = new FakeKafka();
    // On KRaft the metadata can name a leader a moment before that broker serves the partition.
    kafka.admin.offsetFailures = [
      protocolError('NOT_LEADER_OR_FOLLOWER', 'This server is not the leader for that topic-partition'),
      protocolError('NOT_LEADER_OR_FOLLOWER', 'This server is not the leader for that topic-partition'),
    ];
    const transport = transportOn(kafka);

    await transport.ensureTopics([{ name: 'orders', partitions: 3 }]);

    expect(kafka.admin.offsetCalls, 'asked until the leaders answered').to.equal(3);
    expect(kafka.admin.offsetFailures).to.have.length(0);
    expect(kafka.admin.createCalls, 'created once').to.equal(1);
  });

  it('retries the transient errors of topic creation itself (NOT_CONTROLLER, REQUEST_TIMED_OUT…)', async () => {
    const kafka = new FakeKafka();
    kafka.admin.createFailures = [
      protocolError('NOT_CONTROLLER', 'This is not the correct controller for this cluster'),
      new KafkaJSAggregateError('Topic creation errors', [
        protocolError('REQUEST_TIMED_OUT', 'The request timed out'),
      ]),
      // As kafkajs raises it when its own wait for leaders meets a topic the broker does not know yet.
      notHosted(),
    ];
    const transport = transportOn(kafka);

    await transport.ensureTopics([{ name: 'orders' }, { name: 'payments' }]);

    expect(kafka.admin.createCalls).to.equal(4);
    expect(kafka.admin.metadataCalls).to.equal(1);
  });

  it('gives up after its bound with TopicsNotReadyError naming the topics', async () => {
    const kafka = new FakeKafka();
    kafka.admin.metadataFailures = Array.from({ length: 1000 }, notHosted);
    const transport = transportOn(kafka, 50);

    const error = await transport.ensureTopics([{ name: 'orders' }]).catch((e: unknown) => e);

    expect(error).to.be.instanceOf(TopicsNotReadyError);
    expect((error as TopicsNotReadyError).topics).to.deep.equal(['orders']);
    expect((error as Error).message).to.equal(
      'Topics orders are not ready: This server does not host this topic-partition',
    );
    expect((error as TopicsNotReadyError).retriable).to.equal(true);
  });

  it('does not retry a setting the broker refuses: a ConfigurationError', async () => {
    const kafka = new FakeKafka();
    kafka.admin.createFailures = [
      new KafkaJSAggregateError('Topic creation errors', [
        protocolError('INVALID_REPLICATION_FACTOR', 'Replication factor is invalid', false),
      ]),
    ];
    Object.assign(kafka.admin.createFailures[0]!, { retriable: false });
    const transport = transportOn(kafka);

    const error = await transport
      .ensureTopics([{ name: 'orders', replicationFactor: 5 }])
      .catch((e: unknown) => e);

    expect(error).to.be.instanceOf(ConfigurationError);
    expect((error as Error).message).to.contain('Cannot create topics orders');
    expect(kafka.admin.createCalls).to.equal(1);
  });

  it('leaves existing topics alone', async () => {
    const kafka = new FakeKafka();
    kafka.admin.topics.set('orders', 3);
    const transport = transportOn(kafka);
    await transport.ensureTopics([{ name: 'orders' }]);
    expect(kafka.admin.createCalls).to.equal(0);
    expect(kafka.admin.metadataCalls).to.equal(0);
  });
});

describe('KafkaTransport connection', () => {
  it('forgets a failed connect: the next call tries again, and the failed admin is disconnected', async () => {
    const kafka = new FakeKafka();
    kafka.admin.connectFailures = [new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1')];
    const transport = transportOn(kafka);

    const error = await transport.connect().catch((e: unknown) => e);
    expect((error as Error).message).to.contain('ECONNREFUSED');
    expect(kafka.admin.connects, 'one try: the probe').to.equal(1);
    expect(kafka.admin.disconnects).to.equal(1);

    await transport.connect();
    expect(kafka.admin.connects, 'the probe, then the admin kept').to.equal(3);
    expect(kafka.admin.disconnects, 'the probe let go').to.equal(2);
    await transport.connect();
    expect(kafka.admin.connects, 'a connected admin is kept').to.equal(3);
  });

  it('tries each connection once (kafkajs retrying nothing): the app paces and logs the attempts', async () => {
    const configs: KafkaConfig[] = [];
    const kafka = new FakeKafka();
    const transport = new KafkaTransport(
      { brokers: ['broker-1:9092'], logger: silentLogger, retry: { retries: 8, initialRetryTime: 50 } },
      { client: (config) => (configs.push(config), kafka.client()) },
    );
    await transport.connect();
    expect(configs.map((config) => config.retry)).to.deep.equal([
      { retries: 8, initialRetryTime: 50 }, // everything else: the retries asked for
      { retries: 0, initialRetryTime: 50 }, // the connection probe
    ]);
    await transport.close();
  });

  it('reports refused credentials as a ConfigurationError (no retry can fix them)', async () => {
    const kafka = new FakeKafka();
    kafka.admin.connectFailures = [
      // kafkajs's typings omit the constructor's message argument.
      Reflect.construct(KafkaJSSASLAuthenticationError, [
        'SASL SCRAM SHA512 authentication failed: Authentication failed',
      ]) as KafkaJSSASLAuthenticationError,
    ];
    const transport = transportOn(kafka);

    const error = await transport.connect().catch((e: unknown) => e);

    expect(error).to.be.instanceOf(ConfigurationError);
    expect((error as Error).message).to.equal(
      'kafka://broker-1:9092 refused the credentials: SASL SCRAM SHA512 authentication failed: Authentication failed',
    );
    expect((error as Error).cause).to.be.instanceOf(KafkaJSSASLAuthenticationError);
  });
});

describe('KafkaTransport producer', () => {
  it('opens no producer for an app that only connects, creates topics and reads offsets', async () => {
    const kafka = new FakeKafka();
    const transport = transportOn(kafka);
    await transport.connect();
    await transport.ensureTopics([{ name: 'orders' }]);
    await transport.close();
    expect(kafka.producers).to.equal(0);
  });

  it('creates the producer on the first produce; concurrent first produces share one connect', async () => {
    const kafka = new FakeKafka();
    let open!: () => void;
    kafka.gate = new Promise((resolve) => (open = resolve));
    const transport = transportOn(kafka);
    await transport.connect();

    const record = { topic: 'orders', partition: 0, value: Buffer.from('{}') };
    const sends = [transport.produce([record]), transport.produce([record]), transport.produce([record])];
    open();
    await Promise.all(sends);
    await transport.produce([record]);

    expect(kafka.producers).to.equal(1);
    expect(kafka.producerConnects).to.equal(1);
    expect(kafka.sent).to.have.length(4);
    await transport.close();
  });
});

describe('KafkaTransport after close()', () => {
  it('opens no new connection (a stopped worker must exit), and connect() opens it again', async () => {
    const kafka = new FakeKafka();
    const transport = transportOn(kafka);
    await transport.connect();
    await transport.close();
    const record = { topic: 'orders', partition: 0, value: Buffer.from('{}') };
    for (const use of [() => transport.endOffsets('orders'), () => transport.produce([record])])
      expect(await use().catch((e: unknown) => e)).to.be.instanceOf(TransportClosedError);
    expect(kafka.producers).to.equal(0);
    await transport.connect();
    await transport.produce([record]);
    expect(kafka.sent).to.have.length(1);
    await transport.close();
  });
});

describe('KafkaTransport consumers', () => {
  const handlers = { onBatch: () => undefined };
  const options = { groupId: 'g', topics: ['orders'] };

  it('fetch at most 256 KiB per partition and 1 MiB per response by default (memory under a slow sink)', async () => {
    const kafka = new FakeKafka();
    await transportOn(kafka)
      .consume(options, handlers)
      .catch(() => undefined);
    expect(kafka.consumerConfigs[0]).to.include({ maxBytesPerPartition: 256 * 1024, maxBytes: 1024 * 1024 });
  });

  it('join with group timings for a fast failover by default: 10 s session, 1 s heartbeat, 30 s rebalance', async () => {
    const kafka = new FakeKafka();
    await transportOn(kafka)
      .consume(options, handlers)
      .catch(() => undefined);
    expect(kafka.consumerConfigs[0]).to.include({
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 30_000,
    });
  });

  it('take the group timings of a kafka:// URL, the defaults for those it leaves out', async () => {
    const kafka = new FakeKafka();
    const transport = transportOn(
      kafka,
      5000,
      parseKafkaUrl('kafka://k1:9092?sessionTimeout=6000&heartbeatInterval=500'),
    );
    await transport.consume(options, handlers).catch(() => undefined);
    expect(kafka.consumerConfigs[0]).to.include({
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      rebalanceTimeout: 30_000,
    });
  });

  it('refuse a heartbeat interval that is not below the session timeout, naming both', () => {
    const kafka = new FakeKafka();
    expect(() => transportOn(kafka, 5000, { heartbeatInterval: 10_000 }))
      .to.throw(ConfigurationError)
      .with.property('message')
      .that.contains('heartbeatInterval (10000 ms) must be below sessionTimeout (10000 ms)');
    expect(() => transportOn(kafka, 5000, { sessionTimeout: 0 })).to.throw(
      ConfigurationError,
      /sessionTimeout/,
    );
  });

  it('take the fetch sizes given in the options', async () => {
    const kafka = new FakeKafka();
    const transport = transportOn(kafka, 5000, { maxBytesPerPartition: 1 << 20, maxBytes: 10 << 20 });
    await transport.consume(options, handlers).catch(() => undefined);
    expect(kafka.consumerConfigs[0]).to.include({ maxBytesPerPartition: 1 << 20, maxBytes: 10 << 20 });
  });
});
