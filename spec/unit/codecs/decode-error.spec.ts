import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { z } from 'zod';
import { DecodeError, ValidationError, json } from '../../../lib/index.js';

const position = { topic: 'orders', partition: 3, offset: 42 };

/** What a pino logger writes for `logger.warn({ err: error }, error.message)`: its `err.message` and `msg`. */
function logged(error: Error): { errMessage: string; msg: string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  pino({ base: null }, stream).warn({ err: error }, error.message);
  const line = JSON.parse(lines[0]!) as { err: { message: string }; msg: string };
  return { errMessage: line.err.message, msg: line.msg };
}

describe('DecodeError text', () => {
  it('says where and why once, in its message and when a pino logger serializes it', () => {
    const parseError = ((): Error => {
      try {
        JSON.parse('hello');
      } catch (error) {
        return error as Error;
      }
      throw new Error('unreachable');
    })();
    const decodeError = (() => {
      try {
        json().decode(Buffer.from('hello'));
      } catch (error) {
        return new DecodeError(position, 'value', error);
      }
      throw new Error('json() decoded "hello"');
    })();
    const expected = `Cannot decode the value of orders[3]@42: ${parseError.message}`;
    expect(decodeError.message).to.equal(expected);
    expect(logged(decodeError)).to.deep.equal({ errMessage: expected, msg: expected });
  });

  it('keeps the exact text of a codec error, and the error itself as `reason`', () => {
    const reason = new RangeError('bad magic byte 0x7f');
    const error = new DecodeError(position, 'key', reason);
    expect(error.message).to.equal('Cannot decode the key of orders[3]@42: bad magic byte 0x7f');
    expect(logged(error).errMessage).to.equal('Cannot decode the key of orders[3]@42: bad magic byte 0x7f');
    expect(error.reason).to.equal(reason);
    expect(new DecodeError(position, 'value', 'not an error').message).to.equal(
      'Cannot decode the value of orders[3]@42: not an error',
    );
  });

  it('carries the schema issues of a ValidationError, said once', () => {
    let error: unknown;
    try {
      json(z.object({ quantity: z.number() })).decode(Buffer.from('{"quantity":"x"}'));
    } catch (thrown) {
      error = new DecodeError(position, 'value', thrown);
    }
    const decodeError = error as DecodeError;
    expect(decodeError.reason).to.be.instanceOf(ValidationError);
    expect(decodeError.issues).to.have.length(1);
    const text = `Cannot decode the value of orders[3]@42: ${(decodeError.reason as Error).message}`;
    expect(decodeError.message).to.equal(text);
    expect(logged(decodeError).errMessage).to.equal(text);
    expect(text.match(/quantity/g)).to.have.length(1);
  });
});
