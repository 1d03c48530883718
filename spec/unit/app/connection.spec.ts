import { expect } from 'chai';
import {
  ConfigurationError,
  type Logger,
  MemoryBroker,
  MemoryTransport,
  type TopicSpec,
  type Transport,
  createApp,
  silentLogger,
} from '../../../lib/index.js';
import { Connection, ConnectionError } from '../../../lib/app/connection.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { delegateTransport } from '../../support/delegate.js';

/** A memory transport whose `connect` fails while `down` is positive (counting down once per call). */
class FlakyBroker {
  readonly inner = new MemoryTransport(new MemoryBroker());
  connects = 0;
  ensured: string[][] = [];
  closed = 0;
  /** Resolves the next connect once called (to hold an attempt open). */
  gate: Promise<void> | undefined;

  constructor(public down: number) {}

  transport(overrides: Partial<Transport> = {}): Transport {
    return delegateTransport(this.inner, {
      description: 'fake://broker-1:9092',
      connect: async () => {
        this.connects++;
        await this.gate;
        if (this.down > 0) {
          this.down--;
          throw new Error('connect ECONNREFUSED broker-1:9092');
        }
      },
      ensureTopics: async (topics: readonly TopicSpec[]) => {
        this.ensured.push(topics.map((topic) => topic.name));
        await this.inner.ensureTopics(topics);
      },
      close: async () => {
        this.closed++;
        await this.inner.close();
      },
      ...overrides,
    });
  }
}

/** A logger that keeps what was logged at warn and info. */
function recordingLogger(): Logger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    ...silentLogger,
    warnings,
    infos,
    warn: (_fields, message) => void warnings.push(message ?? ''),
    info: (_fields, message) => void infos.push(message ?? ''),
  };
}

const tiny = { initialDelayMs: 1, maxDelayMs: 1, jitter: false } as const;

describe('Connection', () => {
  it('retries with backoff until the broker is reachable, logging each failure once', async () => {
    const broker = new FlakyBroker(3);
    const logger = recordingLogger();
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger,
      backoff: tiny,
    });

    const transport = await connection.connected();

    expect(transport.description).to.equal('fake://broker-1:9092');
    expect(broker.connects).to.equal(4);
    expect(logger.warnings).to.deep.equal([
      'cannot reach fake://broker-1:9092 (attempt 1: connect ECONNREFUSED broker-1:9092), retrying in 1 ms',
      'cannot reach fake://broker-1:9092 (attempt 2: connect ECONNREFUSED broker-1:9092), retrying in 1 ms',
      'cannot reach fake://broker-1:9092 (attempt 3: connect ECONNREFUSED broker-1:9092), retrying in 1 ms',
    ]);
    expect(logger.infos).to.deep.equal(['reached fake://broker-1:9092 (attempt 4)']);
    expect(connection.transport).to.equal(transport);
    await connection.connected();
    expect(broker.connects, 'connected once, then kept').to.equal(4);
  });

  it('waits longer after each failure, as the backoff says', async () => {
    const broker = new FlakyBroker(2);
    const logger = recordingLogger();
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger,
      backoff: { initialDelayMs: 20, factor: 3, jitter: false },
    });
    const started = Date.now();
    await connection.connected();
    expect(Date.now() - started).to.be.at.least(20 + 60 - 5);
    expect(logger.warnings.map((line) => line.replace(/.*retrying in /, ''))).to.deep.equal([
      '20 ms',
      '60 ms',
    ]);
  });

  it('fails one attempt with a ConnectionError naming the brokers, and never caches the failure', async () => {
    const broker = new FlakyBroker(2);
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger: silentLogger,
    });

    const first = await connection.attempt().catch((error: unknown) => error);
    expect(first).to.be.instanceOf(ConnectionError);
    expect((first as ConnectionError).brokers).to.equal('fake://broker-1:9092');
    expect((first as ConnectionError).message).to.equal(
      'Cannot reach fake://broker-1:9092: connect ECONNREFUSED broker-1:9092',
    );
    expect((first as ConnectionError).retriable).to.equal(true);
    const second = await connection.attempt().catch((error: unknown) => error);
    expect(second).to.be.instanceOf(ConnectionError);
    expect(broker.connects, 'the second call tried again').to.equal(2);

    const transport = await connection.attempt();
    expect(transport.description).to.equal('fake://broker-1:9092');
    expect(broker.connects).to.equal(3);
  });

  it('shares one attempt among concurrent callers', async () => {
    const broker = new FlakyBroker(1);
    let open!: () => void;
    broker.gate = new Promise((resolve) => (open = resolve));
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger: silentLogger,
    });
    const calls = [connection.attempt(), connection.attempt(), connection.attempt()].map((call) =>
      call.catch((error: unknown) => error),
    );
    open();
    const results = await Promise.all(calls);
    expect(broker.connects).to.equal(1);
    expect(results[0]).to.be.instanceOf(ConnectionError);
    expect(results[1]).to.equal(results[0]);
    expect(results[2]).to.equal(results[0]);
  });

  it('stops retrying at once when aborted, with a ConnectionError that says so', async () => {
    const broker = new FlakyBroker(Infinity);
    const logger = recordingLogger();
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger,
      backoff: { initialDelayMs: 60_000, jitter: false },
    });
    const waiting = connection.connected().catch((error: unknown) => error);
    while (logger.warnings.length === 0) await new Promise((resolve) => setImmediate(resolve));

    const started = Date.now();
    connection.abort();
    const error = await waiting;

    expect(Date.now() - started, 'no wait for the 60 s backoff').to.be.below(1000);
    expect(error).to.be.instanceOf(ConnectionError);
    expect((error as ConnectionError).stopped).to.equal(true);
    expect((error as ConnectionError).message).to.match(
      /^Stopped before fake:\/\/broker-1:9092 could be reached/,
    );
    expect(broker.connects).to.equal(1);
    const later = await connection.connected().catch((e: unknown) => e);
    expect((later as ConnectionError).stopped).to.equal(true);
    expect(broker.connects, 'no attempt after abort').to.equal(1);
  });

  it('gives up an attempt under way when aborted, and closes the transport if it connects after all', async () => {
    const broker = new FlakyBroker(0);
    let open!: () => void;
    broker.gate = new Promise((resolve) => (open = resolve));
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger: silentLogger,
    });
    const waiting = connection.connected().catch((error: unknown) => error);
    while (broker.connects === 0) await new Promise((resolve) => setImmediate(resolve));

    connection.abort();
    expect(((await waiting) as ConnectionError).stopped).to.equal(true);
    const closing = connection.close();
    open();
    await closing;
    expect(broker.closed).to.equal(1);
  });

  it('does not retry a broker URL that cannot work', async () => {
    const logger = recordingLogger();
    const connection = new Connection({
      broker: 'amqp://localhost',
      clientId: 'test',
      logger,
      backoff: tiny,
    });
    const error = await connection.connected().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ConfigurationError);
    expect(logger.warnings).to.deep.equal([]);
  });

  it('creates the declared topics on connecting (read on every attempt), retrying when that fails', async () => {
    const broker = new FlakyBroker(0);
    let failures = 1;
    const declared: TopicSpec[] = [{ name: 'orders' }];
    const transport = broker.transport({
      ensureTopics: async (topics) => {
        broker.ensured.push(topics.map((topic) => topic.name));
        declared.push({ name: 'late' });
        if (failures-- > 0) throw new Error('This server does not host this topic-partition');
      },
    });
    const logger = recordingLogger();
    const connection = new Connection({
      transport,
      clientId: 'test',
      logger,
      topics: () => [...declared],
      backoff: tiny,
    });

    await connection.connected();

    expect(broker.ensured).to.deep.equal([['orders'], ['orders', 'late']]);
    expect(logger.warnings[0]).to.contain('This server does not host this topic-partition');
  });

  it('creates a topic on first use, and tries again after a failure', async () => {
    const broker = new FlakyBroker(0);
    let failures = 1;
    const transport = broker.transport({
      ensureTopics: async (topics) => {
        broker.ensured.push(topics.map((topic) => topic.name));
        if (topics.length > 0 && failures-- > 0) throw new Error('REQUEST_TIMED_OUT');
      },
    });
    const connection = new Connection({ transport, clientId: 'test', logger: silentLogger });

    const error = await connection.withTopic({ name: 'orders' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ConnectionError);
    await connection.withTopic({ name: 'orders' });
    await connection.withTopic({ name: 'orders' });
    expect(broker.ensured).to.deep.equal([[], ['orders'], ['orders']]);
  });

  it('closes the transport it connected', async () => {
    const broker = new FlakyBroker(0);
    const connection = new Connection({
      transport: broker.transport(),
      clientId: 'test',
      logger: silentLogger,
    });
    await connection.connected();
    await connection.close();
    await connection.close();
    expect(broker.closed).to.equal(1);
  });

  it('names the Kafka brokers in its error, never the credentials', async () => {
    const transport = new KafkaTransport({
      brokers: ['127.0.0.1:1'],
      clientId: 'test',
      sasl: { mechanism: 'plain', username: 'ada', password: 'pa55-w0rd' },
      retry: { retries: 0 },
      connectionTimeout: 500,
      logger: silentLogger,
    });
    const connection = new Connection({ transport, clientId: 'test', logger: silentLogger });
    const error = await connection.attempt().catch((e: unknown) => e);
    await connection.close();
    expect(error).to.be.instanceOf(ConnectionError);
    expect((error as ConnectionError).brokers).to.equal('kafka://127.0.0.1:1 (sasl plain)');
    expect((error as ConnectionError).message).to.contain('Cannot reach kafka://127.0.0.1:1 (sasl plain):');
    expect(
      JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack }),
    ).not.to.contain('pa55-w0rd');
  });
});

describe('App connection', () => {
  it('fails a send while the broker is down with a ConnectionError, and the next send tries again', async () => {
    const broker = new FlakyBroker(1);
    const app = createApp({ id: 'flaky-send', transport: broker.transport(), logger: silentLogger });
    const orders = app.topic('orders');

    const error = await orders.send({ n: 1 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ConnectionError);
    expect((error as ConnectionError).message).to.contain('fake://broker-1:9092');

    const { offset } = await orders.send({ n: 2 });
    expect(offset).to.equal(0);
    expect(broker.connects).to.equal(2);
    await app.stop();
  });

  it('starts its agents once the broker is reachable', async () => {
    const broker = new FlakyBroker(1);
    const app = createApp({ id: 'flaky-start', transport: broker.transport(), logger: silentLogger });
    const orders = app.topic('orders');
    app.agent('see', orders, (order$) => order$.pipe());
    // Attempt 1 fails, then the retry waits half a second to a second (the default backoff).
    await app.start();
    expect(broker.connects).to.equal(2);
    expect(app.agents[0]!.state).to.equal('running');
    await app.stop();
  });
});
