import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import { decimal, toTransportRecord } from '../../../lib/transports/kafka/kafka-record.js';

const message = (fields: Partial<KafkaMessage>): KafkaMessage =>
  ({
    magicByte: 2,
    attributes: 0,
    timestamp: '1765000000123',
    offset: '42',
    key: null,
    value: Buffer.from('v'),
    headers: {},
    size: 0,
    ...fields,
  }) as unknown as KafkaMessage;

describe('toTransportRecord', () => {
  it('reads offset and timestamp as numbers', () => {
    const record = toTransportRecord(message({ offset: '9007199254740', timestamp: '1765000000123' }));
    expect(record.offset).to.equal(9007199254740);
    expect(record.timestamp).to.equal(1765000000123);
    expect(record.value?.toString()).to.equal('v');
    expect(record.key).to.equal(null);
  });

  it('shares one frozen empty headers object when a record has no header, and decodes the last value of a repeated one', () => {
    const a = toTransportRecord(message({ headers: {} }));
    const b = toTransportRecord(message({ headers: undefined }));
    expect(a.headers).to.equal(b.headers);
    expect(Object.isFrozen(a.headers)).to.equal(true);
    expect(a.headers).to.deep.equal({});
    const c = toTransportRecord(
      message({
        headers: { trace: Buffer.from('t1'), tag: [Buffer.from('x'), Buffer.from('y')], none: undefined },
      }),
    );
    expect(c.headers).to.deep.equal({ trace: 't1', tag: 'y' });
    expect(c.headers).to.not.equal(a.headers);
  });
});

describe('decimal', () => {
  it('returns what Number returns, for every kind of text kafkajs could hand over', () => {
    const texts = [
      '0',
      '7',
      '42',
      '4294967295',
      '4294967296',
      '1765000000123',
      '999999999999999',
      '1000000000000000',
      '9223372036854775807',
      '-1',
      '',
      '00012',
      '12a',
      ' 12',
      '1.5',
      '1e3',
      '/',
      ':',
    ];
    for (const text of texts) expect(decimal(text), JSON.stringify(text)).to.deep.equal(Number(text));
  });
});
