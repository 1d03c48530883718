import { expect } from 'chai';
import { z } from 'zod';
import { DecodeError, ValidationError, json, raw, string } from '../../../lib/index.js';
import { decodeRecord } from '../../../lib/agent/decode-record.js';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const Order = z.object({
  user: z.string(),
  quantity: z.number().int().positive(),
  executedAt: z.coerce.date(),
});

describe('codecs', () => {
  it('json() with a Standard Schema validates and types the value', () => {
    const codec = json(Order);
    const order = codec.decode(bytes({ user: 'u1', quantity: 3, executedAt: '2024-05-01T12:00:00Z' }));
    expect(order).to.deep.equal({ user: 'u1', quantity: 3, executedAt: new Date('2024-05-01T12:00:00Z') });
  });

  it('json() rejects a value the schema refuses, with the issues and their paths', () => {
    const codec = json(Order);
    expect(() => codec.decode(bytes({ user: 'u1', quantity: -1, executedAt: 'x' })))
      .to.throw(ValidationError)
      .with.property('message')
      .that.matches(/quantity: .*executedAt: /);
  });

  it('json({ isodates }) revives ISO date-times and leaves other strings alone', () => {
    const codec = json<{ at: Date; day: string; name: string }>(undefined, { isodates: true });
    const value = codec.decode(
      bytes({ at: '2024-05-01T12:00:00.123+02:00', day: '2024-05-01', name: 'x' }),
    ) as {
      at: Date;
      day: string;
    };
    expect(value.at).to.be.instanceOf(Date);
    expect(value.at.toISOString()).to.equal('2024-05-01T10:00:00.123Z');
    expect(value.day).to.equal('2024-05-01');
  });

  it('round-trips through encode and decode', () => {
    const value = { user: 'u1', quantity: 2, executedAt: new Date('2024-01-01T00:00:00Z') };
    expect(json(Order).decode(json(Order).encode(value))).to.deep.equal(value);
    expect(string().decode(string().encode('héllo'))).to.equal('héllo');
    expect(raw().decode(Buffer.from([1, 2]))).to.deep.equal(Buffer.from([1, 2]));
  });

  it('a record that cannot be decoded becomes a DecodeError naming topic, partition and offset', () => {
    const record = {
      offset: 42,
      key: Buffer.from('k'),
      value: Buffer.from('{not json'),
      headers: {},
      timestamp: 0,
    };
    try {
      decodeRecord({ topic: 'orders', partition: 3 }, record, string(), json(Order));
      expect.fail('decoding should have thrown');
    } catch (error) {
      expect(error).to.be.instanceOf(DecodeError);
      const decodeError = error as DecodeError;
      expect([decodeError.topic, decodeError.partition, decodeError.offset, decodeError.part]).to.deep.equal([
        'orders',
        3,
        42,
        'value',
      ]);
      expect(decodeError.message).to.contain('orders[3]@42');
      expect(decodeError.retriable).to.equal(false);
    }
  });

  it('an async schema makes decoding asynchronous, and its rejection is still a DecodeError', async () => {
    const Async = z.object({ n: z.number() }).refine(async (value) => value.n > 0, 'must be positive');
    const good = { offset: 1, key: null, value: bytes({ n: 1 }), headers: {}, timestamp: 0 };
    const bad = { ...good, value: bytes({ n: -1 }) };
    expect(await decodeRecord({ topic: 't', partition: 0 }, good, string(), json(Async))).to.deep.equal({
      key: null,
      value: { n: 1 },
    });
    const failure = await Promise.resolve(
      decodeRecord({ topic: 't', partition: 0 }, bad, string(), json(Async)),
    ).catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(DecodeError).with.property('issues').that.has.length(1);
  });
});
