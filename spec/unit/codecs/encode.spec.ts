import { expect } from 'chai';
import { z } from 'zod';
import { json, raw, string } from '../../../lib/index.js';
import { describeCodec, sameCodec } from '../../../lib/codecs/codec-identity.js';
import { EncodeError } from '../../../lib/codecs/encode-error.js';

describe('json() encoding of bytes', () => {
  it('refuses a Buffer (it would become {"type":"Buffer",…}) with an EncodeError that says to use raw()', () => {
    expect(() => json().encode(Buffer.from('x')))
      .to.throw(EncodeError)
      .with.property('message')
      .that.equals(
        'The json codec cannot encode this value: a Buffer is not JSON; declare the topic with raw() to send ' +
          'bytes as they are, or send a JSON value',
      );
    expect(() => json().encode(new Uint8Array([1]))).to.throw(EncodeError, 'a binary array is not JSON');
    expect(() => json().encode(new ArrayBuffer(1))).to.throw(EncodeError);
  });

  it('is not retriable, and still encodes JSON values (a Buffer nested in an object is left to the caller)', () => {
    let error: unknown;
    try {
      json().encode(Buffer.from('x'));
    } catch (thrown) {
      error = thrown;
    }
    expect(error).to.have.property('retriable', false);
    expect(json().encode({ n: 1 }).toString()).to.equal('{"n":1}');
    expect(json().encode('text').toString()).to.equal('"text"');
    expect(raw().encode(Buffer.from('x')).toString()).to.equal('x');
  });
});

describe('codec identity', () => {
  const Order = z.object({ n: z.number() });

  it('json() codecs made from the same schema and options are alike; others are not', () => {
    expect(sameCodec(json(), json())).to.equal(true);
    expect(sameCodec(json(Order), json(Order))).to.equal(true);
    expect(sameCodec(json(Order), json(z.object({ n: z.number() })))).to.equal(false);
    expect(sameCodec(json(Order), json(Order, { isodates: true }))).to.equal(false);
    expect(sameCodec(json(), raw())).to.equal(false);
    expect(sameCodec(string(), string())).to.equal(true);
    const custom = { name: 'json', encode: () => Buffer.alloc(0), decode: () => null };
    expect(sameCodec(custom, json())).to.equal(false);
  });

  it('describes a codec as an error message shows it', () => {
    expect(describeCodec(json())).to.equal('json()');
    expect(describeCodec(json(Order))).to.equal('json(zod schema)');
    expect(describeCodec(json(Order, { isodates: true }))).to.equal('json(zod schema, { isodates: true })');
    expect(describeCodec(json(undefined, { isodates: true }))).to.equal(
      'json(undefined, { isodates: true })',
    );
    expect(describeCodec(raw())).to.equal('raw()');
  });
});
