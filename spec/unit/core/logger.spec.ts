import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { ConfigurationError } from '../../../lib/core/errors.js';
import { logSerializers } from '../../../lib/core/logger.js';

describe('logSerializers', () => {
  const capture = () => {
    const lines: string[] = [];
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    return { lines, logger: pino({ serializers: logSerializers }, stream) };
  };

  it('masks credentials in an error logged as err or error: message, stack, causes, own fields', () => {
    const { lines, logger } = capture();
    const cause = new Error('dial bob:s3cr@t@k2:9092 failed');
    const error = Object.assign(new ConfigurationError('kafka:/alice:hunter22@k1:9092 is wrong', { cause }), {
      url: 'kafka://alice:hunter22@k1:9092',
    });
    logger.warn({ err: error }, 'failed');
    logger.error({ error }, 'failed again');
    expect(lines).to.have.length(2);
    const text = lines.join('\n');
    expect(text).not.to.match(/hunter22|s3cr|alice|bob/);
    const logged = JSON.parse(lines[0]!) as {
      err: { type: string; message: string; stack: string; cause: { message: string } };
    };
    expect(logged.err.type).to.equal('ConfigurationError');
    // each message once: the cause nested, not appended to the message
    expect(logged.err.message).to.equal('kafka:/***@k1:9092 is wrong');
    expect(logged.err.cause.message).to.equal('dial ***@k2:9092 failed');
    expect(logged.err.stack).to.contain('ConfigurationError');
  });

  it('passes other values through, masking strings', () => {
    expect(logSerializers.err('u:pw@h:1 down')).to.equal('***@h:1 down');
    expect(logSerializers.err(42)).to.equal(42);
  });
});
