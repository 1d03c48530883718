import { expect } from 'chai';
import type { Codec } from '../../../lib/codecs/codec.js';
import { json, string } from '../../../lib/index.js';
import { TableCodecs } from '../../../lib/tables/table-codecs.js';

/** A codec of an async schema: its decode answers a Promise, which a table cannot wait for. */
const asyncCodec: Codec<string> = {
  name: 'async-string',
  encode: (value) => Buffer.from(value),
  decode: (bytes) => Promise.resolve(bytes.toString()),
};

describe('TableCodecs: decoding is synchronous', () => {
  it('decodes keys and values with their codecs', () => {
    const codecs = new TableCodecs('counts', string(), string());
    expect(codecs.decodeKey(Buffer.from('k'))).to.equal('k');
    expect(codecs.decodeValue(Buffer.from('v'))).to.equal('v');
  });

  it('throws a TypeError naming the table and the value codec when the value codec answers a Promise', () => {
    const codecs = new TableCodecs('counts', string(), asyncCodec);
    expect(codecs.decodeKey(Buffer.from('k'))).to.equal('k');
    expect(() => codecs.decodeValue(Buffer.from('v'))).to.throw(
      TypeError,
      'Table counts: its value codec async-string must decode synchronously',
    );
  });

  it('throws a TypeError naming the table and the key codec when the key codec answers a Promise', () => {
    const codecs = new TableCodecs('counts', asyncCodec, string());
    expect(codecs.decodeValue(Buffer.from('v'))).to.equal('v');
    expect(() => codecs.decodeKey(Buffer.from('k'))).to.throw(
      TypeError,
      'Table counts: its key codec async-string must decode synchronously',
    );
  });
});

describe('TableCodecs: values left to encode until produced', () => {
  it('with json(): numbers, strings, booleans and null, and values the caller vouches for; no other', () => {
    const codecs = new TableCodecs<string, unknown>('counts', string(), json());
    expect([1, 'a', false, null].map((value) => codecs.encodesLater(value, undefined))).to.deep.equal([
      true,
      true,
      true,
      true,
    ]);
    // JSON fails on a bigint or a cycle, and an object may be changed after: encoded at once
    expect(
      [{ n: 1 }, [1], 1n, undefined].map((value) => codecs.encodesLater(value, undefined)),
    ).to.deep.equal([false, false, false, false]);
    expect(codecs.encodesLater({ n: 1 }, () => true)).to.equal(true);
    expect(codecs.encodesLater({ n: 1 }, () => false)).to.equal(false);
  });

  it('never with another codec, whose encoding may fail on any value', () => {
    const codecs = new TableCodecs<string, string>('names', string(), string());
    expect(codecs.encodesLater('a', () => true)).to.equal(false);
  });
});
