import { expect } from 'chai';
import { ConfigurationError } from '../../../lib/core/errors.js';
import { BrokerUrlError } from '../../../lib/transports/broker-url-error.js';
import { resolveTransport } from '../../../lib/transports/resolve-transport.js';
import { describeKafka, parseKafkaUrl, secretsOf } from '../../../lib/transports/kafka/kafka-options.js';
import { kafkaLogCreator } from '../../../lib/transports/kafka/kafka-log.js';
import { logLevel } from 'kafkajs';

describe('kafka:// URLs', () => {
  it('reads one broker', () => {
    expect(parseKafkaUrl('kafka://127.0.0.1:19092', 'app')).to.deep.equal({
      brokers: ['127.0.0.1:19092'],
      clientId: 'app',
    });
  });

  it('reads several brokers, TLS, SASL with URL-encoded credentials and a client id', () => {
    const options = parseKafkaUrl(
      'kafka://orders:p%40ss%3Aw0rd@k1:9093,k2:9094?ssl=true&sasl=scram-sha-512&clientId=reports',
      'app',
    );
    expect(options).to.deep.equal({
      brokers: ['k1:9093', 'k2:9094'],
      clientId: 'reports',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'orders', password: 'p@ss:w0rd' },
    });
  });

  it('reads the consumer group timings: session timeout, heartbeat interval, rebalance timeout', () => {
    expect(
      parseKafkaUrl(
        'kafka://k1:9092?sessionTimeout=6000&heartbeatInterval=500&rebalanceTimeout=20000&requestTimeout=9000',
      ),
    ).to.deep.equal({
      brokers: ['k1:9092'],
      requestTimeout: 9000,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      rebalanceTimeout: 20_000,
    });
    expect(parseKafkaUrl('kafka://k1:9092?heartbeatInterval=250')).to.deep.equal({
      brokers: ['k1:9092'],
      heartbeatInterval: 250,
    });
  });

  it('defaults to SASL PLAIN when credentials come without a mechanism', () => {
    expect(parseKafkaUrl('kafka://u:secret@k1:9092').sasl).to.deep.equal({
      mechanism: 'plain',
      username: 'u',
      password: 'secret',
    });
  });

  for (const url of [
    'kafka://',
    'kafka://k1',
    'kafka://k1:9092?ssl=yes',
    'kafka://k1:9092?sasl=plain',
    'kafka://u:secret@k1:9092?sasl=gssapi',
    'kafka://k1:9092?colour=blue',
    'kafka://u:secret@k1:9092?requestTimeout=-5',
  ]) {
    it(`rejects ${url.replace('secret', '***')} without showing the password`, () => {
      let caught: unknown;
      try {
        parseKafkaUrl(url);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(ConfigurationError);
      expect((caught as Error).message).not.to.contain('secret');
    });
  }

  /** The error `parse` throws (failing the test when it throws none). */
  const rejection = (parse: () => unknown): BrokerUrlError => {
    try {
      parse();
    } catch (error) {
      expect(error).to.be.instanceOf(BrokerUrlError).and.instanceOf(ConfigurationError);
      return error as BrokerUrlError;
    }
    throw new Error('expected a BrokerUrlError');
  };

  const SECRET = 'Zq9pw0rdXy';
  const badEscape = `bad %-escape at position ${SECRET.length + 1} of the password ('%' must be followed by two hex digits; a literal '%' is %25)`;
  for (const [url, problem] of [
    [`kafka:alice:${SECRET}@k1:9092`, "missing '//' after kafka: (expected kafka://host:port)"],
    [
      `kafka:/alice:${SECRET}@127.0.0.1:49092?sasl=scram-sha-512`,
      "missing '//' after kafka: (found one slash, expected two)",
    ],
    [
      `kafka:///alice:${SECRET}@k1:9092`,
      'too many slashes after kafka: (found 3, expected kafka://host:port)',
    ],
    [`kafka://bob:${SECRET}%2F/x@k1:9092`, "password must be URL-encoded: found '/'"],
    [`kafka://bob:p@ss:w/rd%?&${SECRET}@127.0.0.1:49092`, "password must be URL-encoded: found '@'"],
    [`kafka://bob:${SECRET}?x@k1:9092`, "password must be URL-encoded: found '?'"],
    [`kafka://bob:${SECRET}#x@k1:9092`, "password must be URL-encoded: found '#'"],
    [`kafka://b/ob:${SECRET}@k1:9092`, "user name must be URL-encoded: found '/'"],
    [`kafka://bob:${SECRET}%zz@k1:9092`, badEscape],
    [`kafka://bob:${SECRET}%4@k1:9092`, badEscape],
    [`kafka://bob:${SECRET}%C3%28@k1:9092`, "the password's %-escapes do not form valid UTF-8"],
    [`kafka://${SECRET}@k1:9092`, "credentials must be user:password (no ':' before the '@')"],
    [`kafka://:${SECRET}@k1:9092`, 'the user name is empty'],
    [`kafka://bob:p@${SECRET}`, 'the broker address is not host:port (no port)'],
    [`kafka://bob:${SECRET}@`, 'no broker address (expected kafka://host:port)'],
    [`kafka://bob:${SECRET}@k1`, 'the broker address is not host:port (no port)'],
    [
      `kafka://bob:${SECRET}@k1:9092,k2:x`,
      'broker address 2 of 2 is not host:port (the port is not a number)',
    ],
    [`kafka://bob:${SECRET}@k1:9092,`, 'broker address 2 of 2 is empty'],
    [`kafka://bob:${SECRET}@k1:99999`, 'the broker address has a port outside 1-65535'],
    [`kafka://bob:${SECRET}@k1:9092/path`, "unexpected '/' after the broker addresses"],
    [`kafka://bob:${SECRET}@k1:9092#frag`, "a fragment ('#…') after the hosts is not allowed"],
    [`kafka://bob:${SECRET}@k1:9092?clientid=x`, 'unknown parameter (did you mean clientId?)'],
    [
      `kafka://bob:${SECRET}@k1:9092?colour=blue`,
      'unknown parameter (known: ssl, sasl, clientId, connectionTimeout, requestTimeout, sessionTimeout, heartbeatInterval, rebalanceTimeout)',
    ],
    [`kafka://bob:${SECRET}@k1:9092?ssl=yes`, 'ssl must be true or false'],
    [`kafka://bob:${SECRET}@k1:9092?sasl=gssapi`, 'sasl must be one of plain, scram-sha-256, scram-sha-512'],
    [`kafka://k1:9092?sasl=plain`, 'sasl needs user:password@ before the hosts'],
    [`kafka://bob:${SECRET}@k1:9092?requestTimeout=-5`, 'requestTimeout must be a positive integer (ms)'],
    [`kafka://bob:${SECRET}@k1:9092?sessionTimeout=10s`, 'sessionTimeout must be a positive integer (ms)'],
    [
      `kafka://bob:${SECRET}@k1:9092?heartbeatInterval=0`,
      'heartbeatInterval must be a positive integer (ms)',
    ],
    [
      `kafka://bob:${SECRET}@k1:9092?rebalanceTimeout=1.5`,
      'rebalanceTimeout must be a positive integer (ms)',
    ],
    [`kafka://bob:${SECRET}@k1:9092?sessiontimeout=6000`, 'unknown parameter (did you mean sessionTimeout?)'],
  ] as const) {
    it(`says "${problem}" without repeating the URL`, () => {
      const error = rejection(() => parseKafkaUrl(url));
      expect(error.message).to.equal(`Bad broker URL: ${problem}`);
      expect(error.problem).to.equal(problem);
      for (const text of [error.message, String(error.stack)]) {
        expect(text).not.to.contain(SECRET.slice(0, 4)).and.not.to.contain('alice').and.not.to.contain('bob');
      }
    });
  }

  it('takes everything before the last @ as the credentials, so an encoded @ / % ? & password works', () => {
    const password = 'p@ss:w/rd%?&';
    const options = parseKafkaUrl(`kafka://alice:${encodeURIComponent(password)}@127.0.0.1:49092?sasl=plain`);
    expect(options.sasl).to.deep.equal({ mechanism: 'plain', username: 'alice', password });
    expect(options.brokers).to.deep.equal(['127.0.0.1:49092']);
  });

  it('accepts a raw : and & in the password, non-ASCII text, IPv6 brokers and a trailing slash', () => {
    const options = parseKafkaUrl('kafka://u%C3%A9:a:b&c%25d\u00e9\u{1F511}@[::1]:9092,k2:1/');
    expect(options.sasl).to.deep.equal({
      mechanism: 'plain',
      username: 'u\u00e9',
      password: 'a:b&c%d\u00e9\u{1F511}',
    });
    expect(options.brokers).to.deep.equal(['[::1]:9092', 'k2:1']);
  });

  describe('resolveTransport', () => {
    const rejected = async (url: string): Promise<BrokerUrlError> => {
      const error: unknown = await resolveTransport(url, 'app').then(
        () => expect.fail('resolved'),
        (e: unknown) => e,
      );
      // By name: under the test runner, kafkajs's side is loaded by import() as a second module copy.
      expect(error).to.have.property('name', 'BrokerUrlError');
      return error as BrokerUrlError;
    };

    it('names what is wrong without the URL: no scheme, other schemes, memory with credentials', async () => {
      expect((await rejected(`alice:${SECRET}@127.0.0.1:49092`)).problem).to.equal(
        'no kafka:// scheme before the credentials (expected kafka://host:port[,host:port…] or memory://[name])',
      );
      expect((await rejected(`${SECRET}`)).problem).to.match(/^not a broker URL/);
      expect((await rejected('amqp://localhost')).problem).to.match(/^unsupported scheme amqp:\/\//);
      expect((await rejected(`amqp://u:${SECRET}@localhost`)).problem).to.match(/^no kafka:\/\/ scheme/);
      expect((await rejected(`memory://u:${SECRET}@x`)).problem).to.equal('memory:// takes no credentials');
      expect((await rejected('memory:x')).problem).to.equal("missing '//' after memory:");
      expect((await rejected(`kafka:/u:${SECRET}@k1:1`)).message).not.to.contain(SECRET.slice(0, 4));
    });

    it('still resolves memory:// URLs, named or not', async () => {
      expect((await resolveTransport('memory://', 'app')).description).to.equal('memory');
      expect((await resolveTransport(' memory://named ', 'app')).description).to.equal('memory');
    });
  });

  it('describes a connection without its secrets', () => {
    const options = parseKafkaUrl('kafka://user:hunter22@k1:9093?ssl=true&sasl=plain');
    const description = describeKafka(options);
    expect(description).to.equal('kafka://k1:9093 (ssl, sasl plain)');
    expect(description).not.to.contain('hunter22');
    expect(secretsOf(options)).to.deep.equal(['hunter22']);
    expect(describeKafka({ brokers: ['alice:hunter22@k1:9093'] })).to.equal('kafka://***@k1:9093');
  });
});

describe('kafkajs log lines', () => {
  const capture = () => {
    const lines: { level: string; fields: object; message?: string }[] = [];
    const logger = {
      debug: (fields: object, message?: string) => lines.push({ level: 'debug', fields, message }),
      info: (fields: object, message?: string) => lines.push({ level: 'info', fields, message }),
      warn: (fields: object, message?: string) => lines.push({ level: 'warn', fields, message }),
      error: (fields: object, message?: string) => lines.push({ level: 'error', fields, message }),
    };
    return { lines, logger };
  };

  it('maps ERROR to error, WARN to warn, INFO and DEBUG to debug', () => {
    const { lines, logger } = capture();
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    for (const level of [logLevel.ERROR, logLevel.WARN, logLevel.INFO, logLevel.DEBUG]) {
      log({ namespace: 'Consumer', level, label: '', log: { timestamp: 'now', message: `m${level}` } });
    }
    expect(lines.map((line) => [line.level, line.message])).to.deep.equal([
      ['error', 'm1'],
      ['warn', 'm2'],
      ['debug', 'm4'],
      ['debug', 'm5'],
    ]);
  });

  it('never lets a secret through, in the message or in nested fields', () => {
    const { lines, logger } = capture();
    const log = kafkaLogCreator(logger, ['hunter22'])(logLevel.INFO);
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: 'now',
        message: 'SASL PLAIN authentication failed for user:hunter22',
        sasl: { mechanism: 'plain', username: 'u', password: 'hunter22' },
        broker: 'k1:9093',
        nested: { detail: ['token hunter22 refused'], password: 'other' },
      },
    });
    const text = JSON.stringify(lines);
    expect(text).not.to.contain('hunter22');
    expect(text).not.to.contain('other');
    expect(text).to.contain('k1:9093');
  });

  it('masks URL userinfo in messages and fields, and short secrets too', () => {
    const { lines, logger } = capture();
    const log = kafkaLogCreator(logger, ['pw9'])(logLevel.INFO);
    log({
      namespace: 'Connection',
      level: logLevel.WARN,
      label: 'WARN',
      log: {
        timestamp: 'now',
        message: 'reconnecting to kafka:/bob:s3cr@t/x@k1:9093',
        seed: 'bob:s3cr@t@k2:1',
        note: 'pw9',
      },
    });
    const text = JSON.stringify(lines);
    expect(text).not.to.match(/s3cr|pw9|bob/);
    expect(text).to.contain('k1:9093').and.contain('k2:1');
  });
});
