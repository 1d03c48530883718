import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { type App, type Logger, createApp } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import { uniqueName } from '../support/services.js';

/** The SASL-only broker of `scripts/services.sh up kafka-sasl` and its users (see scripts/env.sh). */
const sasl = {
  broker: process.env.RIVULET_KAFKA_SASL_BROKERS ?? '127.0.0.1:19094',
  scram: {
    user: process.env.RIVULET_KAFKA_SCRAM_USER ?? 'alice',
    password: process.env.RIVULET_KAFKA_SCRAM_PASSWORD ?? 'alice-p@ss:w/rd%?&',
  },
  plain: {
    user: process.env.RIVULET_KAFKA_PLAIN_USER ?? 'carol',
    password: process.env.RIVULET_KAFKA_PLAIN_PASSWORD ?? 'carol-p@ss:w/rd%?&',
  },
};
const enc = encodeURIComponent;

/** A pino logger at trace level, its lines kept as text. */
function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => lines.join('') };
}

/** Error message, stack and causes, as text. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}

/** Neither the password nor a recognisable part of it (its special-character core). */
function expectNoSecret(text: string, password: string): void {
  expect(text).not.to.contain(password);
  expect(text).not.to.contain(enc(password));
  expect(text).not.to.contain('p@ss');
  expect(text).not.to.contain('w/rd');
}

describe('kafka: SASL (SCRAM-SHA-512 and PLAIN)', function () {
  this.timeout(60_000);
  let app: App | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  for (const [mechanism, user] of [
    ['scram-sha-512', sasl.scram],
    ['plain', sasl.plain],
  ] as const) {
    it(`a URL-encoded special-character password authenticates (${mechanism}): send, and an agent consumes`, async () => {
      const { logger, text } = capturingLogger();
      const url = `kafka://${enc(user.user)}:${enc(user.password)}@${sasl.broker}?sasl=${mechanism}`;
      app = createApp({ id: uniqueName('sasl-app'), broker: url, logger });
      const topic = app.topic<{ n: number }>(uniqueName('sasl'));
      const agent = app.agent('collect', topic, (message$) => message$);
      await app.start();
      await topic.sendMany([1, 2, 3].map((n) => ({ value: { n } })));
      await waitFor(() => agent.stats().settled >= 3, { timeoutMs: 30_000 });
      expect(agent.stats().settled).to.equal(3);
      await app.stop();
      expectNoSecret(text(), user.password);
    });
  }

  it('KafkaTransport({ sasl }) takes the password as it is, no encoding', async () => {
    const { logger, text } = capturingLogger();
    const transport = new KafkaTransport({
      brokers: [sasl.broker],
      sasl: { mechanism: 'scram-sha-512', username: sasl.scram.user, password: sasl.scram.password },
      logger,
      debugClient: true,
    });
    app = createApp({ id: uniqueName('sasl-transport'), transport, logger });
    const topic = app.topic<{ n: number }>(uniqueName('sasl-t'));
    const metadata = await topic.send({ n: 1 });
    expect(metadata.offset).to.equal(0);
    await app.stop();
    expectNoSecret(text(), sasl.scram.password);
  });

  it('a wrong password fails the transport within seconds with a clear error that does not show the password', async () => {
    const { logger, text } = capturingLogger();
    const wrong = 'wr0ng-p@ss:w/rd%?&';
    const url = `kafka://${enc(sasl.scram.user)}:${enc(wrong)}@${sasl.broker}?sasl=scram-sha-512`;
    const transport = KafkaTransport.fromUrl(url, uniqueName('sasl-wrong'), { logger, debugClient: true });
    const started = Date.now();
    const error: unknown = await transport.connect().then(
      () => expect.fail('connected with a wrong password'),
      (e: unknown) => e,
    );
    expect(Date.now() - started, 'ms to fail').to.be.below(5_000);
    await transport.close();
    const description = errorText(error);
    expect(description).to.contain('KafkaJSSASLAuthenticationError').and.contain('SCRAM');
    expectNoSecret(description, wrong);
    expectNoSecret(text(), wrong);
  });

  it('an app with a wrong password says why within seconds, in its log, without the password', async () => {
    const { logger, text } = capturingLogger();
    const wrong = 'wr0ng-p@ss:w/rd%?&';
    const url = `kafka://${enc(sasl.scram.user)}:${enc(wrong)}@${sasl.broker}?sasl=scram-sha-512`;
    app = createApp({ id: uniqueName('sasl-wrong-app'), broker: url, logger });
    app.agent('never', app.topic(uniqueName('sasl-w')), (message$) => message$);
    let failure: unknown;
    const starting = app.start().catch((e: unknown) => (failure = e));
    await waitFor(() => failure !== undefined || /SASL SCRAM SHA512 authentication failed/.test(text()), {
      timeoutMs: 5_000,
    });
    await app.stop();
    await starting;
    if (failure !== undefined) expectNoSecret(errorText(failure), wrong);
    expectNoSecret(text(), wrong);
  });
});
