import { expect } from 'chai';
import { type App, type Logger, createApp, mapValue, silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** Keeps rivulet's own warnings (kafkajs's lines carry `client: 'kafkajs'` and are left out). */
function warningsLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    ...silentLogger,
    warnings,
    warn: (fields, message) => {
      if ((fields as { client?: unknown }).client !== 'kafkajs') warnings.push(message ?? '');
    },
  };
}

/** Every line logged, kafkajs's included, with its level. */
function allLinesLogger(): Logger & {
  lines: { level: string; message: string; kafkajs: boolean; at: number }[];
} {
  const lines: { level: string; message: string; kafkajs: boolean; at: number }[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void =>
      void lines.push({
        level,
        message: message ?? '',
        kafkajs: (fields as { client?: unknown }).client === 'kafkajs',
        at: Date.now(),
      });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('kafka: a worker started while the broker is down', function () {
  this.timeout(120_000);
  let app: App | undefined;
  let proxy: TcpProxy | undefined;

  afterEach(async () => {
    await app?.stop();
    await proxy?.down();
    app = undefined;
    proxy = undefined;
  });

  it('keeps trying to connect, then processes once the broker is reachable', async () => {
    const [host, port] = services.kafkaBrokers[0]!.split(':') as [string, string];
    proxy = await TcpProxy.start(host, Number(port));
    await proxy.down(); // the broker looks stopped to the worker: connections refused
    const topicName = uniqueName('broker-down');
    const total = 200;

    // Records waiting for the worker, produced straight to the real broker.
    const producer = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
    await producer.ensureTopics([{ name: topicName, partitions: 2 }]);
    await producer.produce(
      Array.from({ length: total }, (_, i) => ({
        topic: topicName,
        value: Buffer.from(JSON.stringify({ i })),
      })),
    );
    await producer.close();

    const logger = warningsLogger();
    app = createApp({ id: uniqueName('broker-down-app'), broker: `kafka://127.0.0.1:${proxy.port}`, logger });
    const topic = app.topic<{ i: number }>(topicName);
    const seen = new Set<number>();
    const agent = app.agent('count', topic, (message$) =>
      message$.pipe(mapValue((value) => void seen.add(value.i))),
    );
    let startError: unknown;
    const started = app.start().catch((error: unknown) => (startError = error));

    // The first connection attempt fails and is retried (not cached, not thrown at the caller).
    await waitFor(() => logger.warnings.some((line) => line.startsWith('cannot reach ')), {
      timeoutMs: 60_000,
      description: 'a failed connection attempt reported',
    });
    expect(logger.warnings[0]).to.match(
      new RegExp(`^cannot reach kafka://127\\.0\\.0\\.1:${proxy.port} \\(attempt 1: .*\\), retrying in `),
    );
    expect(seen.size).to.equal(0);

    await proxy.up();
    await started;
    expect(startError).to.equal(undefined);
    await waitFor(() => seen.size === total, { timeoutMs: 60_000, description: 'every record consumed' });
    await waitForCommitted(app, { timeoutMs: 30_000 });
    expect(agent.stats().settled).to.be.at.least(total);
  });

  // The README promises one line per connection attempt: kafkajs's own account of each attempt (its
  // connection errors and retries, error-level in kafkajs) is debug detail.
  for (const [what, broker] of [
    ['an unknown host', () => 'no-such-host.invalid:9092'],
    ['a refused connection', () => `127.0.0.1:${proxy!.port}`],
  ] as const) {
    it(`logs one warning per connection attempt, naming the brokers, for ${what}`, async () => {
      const [host, port] = services.kafkaBrokers[0]!.split(':') as [string, string];
      proxy = await TcpProxy.start(host, Number(port));
      await proxy.down();
      const logger = allLinesLogger();
      const brokers = broker();
      // By URL, with kafkajs's default retries: each attempt is one try, the app paces them (1, 2, 4 s…)
      app = createApp({ id: uniqueName('one-line-app'), logger, broker: `kafka://${brokers}` });
      app.agent('count', app.topic<number>(uniqueName('one-line')), (n$) => n$);
      const startedAt = Date.now();
      const started = app.start().catch(() => undefined);
      const attempts = () => logger.lines.filter((line) => line.message.startsWith('cannot reach '));
      await waitFor(() => attempts().length >= 3, { timeoutMs: 60_000, description: 'three attempts' });
      await app.stop();
      await started;

      const noisy = logger.lines.filter((line) => line.level === 'warn' || line.level === 'error');
      const kafkajs = logger.lines.filter((line) => line.kafkajs);
      console.log(
        `      ${what}: ${attempts().length} attempts, ${noisy.length} warn/error lines; kafkajs's ${kafkajs.length} lines at ${[...new Set(kafkajs.map((l) => l.level))].join(', ')}`,
      );
      expect(noisy.map((line) => line.message)).to.deep.equal(attempts().map((line) => line.message));
      for (const [i, line] of attempts().entries())
        expect(line.message).to.match(
          new RegExp(`^cannot reach kafka://${brokers.replace(/\./g, '\\.')} \\(attempt ${i + 1}: `),
        );
      expect(kafkajs.length, 'kafkajs lines (debug)').to.be.greaterThan(0);
      // each attempt is one try (kafkajs's own five retries took about 10 s before the first line)
      expect(attempts()[0]!.at - startedAt, 'ms until the first warning').to.be.below(5000);
    });
  }

  it('fails a send with a ConnectionError while the broker is down, and sends once it is back', async () => {
    const [host, port] = services.kafkaBrokers[0]!.split(':') as [string, string];
    proxy = await TcpProxy.start(host, Number(port));
    await proxy.down();
    const topicName = uniqueName('send-down');
    app = createApp({
      id: uniqueName('send-down-app'),
      transport: new KafkaTransport({
        brokers: [`127.0.0.1:${proxy.port}`],
        logger: silentLogger,
        retry: { retries: 1, initialRetryTime: 100 },
      }),
      logger: silentLogger,
    });
    const topic = app.topic<{ n: number }>(topicName);

    const error = await topic.send({ n: 1 }).catch((e: unknown) => e);
    expect((error as Error).name).to.equal('ConnectionError');
    expect((error as Error).message).to.contain(`Cannot reach kafka://127.0.0.1:${proxy.port}`);

    await proxy.up();
    const { offset } = await topic.send({ n: 2 });
    expect(offset).to.equal(0);
  });
});
