import { expect } from 'chai';
import { ConfigurationError } from '../../../lib/core/errors.js';
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

  it('describes a connection without its secrets', () => {
    const options = parseKafkaUrl('kafka://user:hunter22@k1:9093?ssl=true&sasl=plain');
    const description = describeKafka(options);
    expect(description).to.equal('kafka://k1:9093 (ssl, sasl plain)');
    expect(description).not.to.contain('hunter22');
    expect(secretsOf(options)).to.deep.equal(['hunter22']);
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
});
