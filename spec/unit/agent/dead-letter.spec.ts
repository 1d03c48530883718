import { expect } from 'chai';
import { DEAD_LETTER_HEADERS, deadLetterRecord } from '../../../lib/agent/dead-letter.js';
import { ConfigurationError, DecodeError } from '../../../lib/core/errors.js';

describe('deadLetterRecord', () => {
  const record = { key: null, value: Buffer.from('{}'), headers: { trace: 't1' }, offset: 7, timestamp: 0 };
  const build = (error: unknown) =>
    deadLetterRecord('orders.dlq', 'confirm', { topic: 'orders', partition: 2 }, record, error, 3);

  it("carries the error's class and its message with credentials masked, and nothing else of the error", () => {
    const error = Object.assign(
      new ConfigurationError('cannot reach kafka:/alice:p@ss:w/rd%?&@127.0.0.1:49092', {
        cause: new Error('alice:p@ss:w/rd%?&@127.0.0.1:49092'),
      }),
      { options: { sasl: { password: 'p@ss:w/rd%?&' } } },
    );
    const { topic } = build(error);
    const headers = build(error).headers!;
    expect(topic).to.equal('orders.dlq');
    expect(headers[DEAD_LETTER_HEADERS.errorName]).to.equal('ConfigurationError');
    expect(headers[DEAD_LETTER_HEADERS.error]).to.equal('cannot reach kafka:/***@127.0.0.1:49092');
    expect(JSON.stringify(headers)).not.to.contain('ss:w');
    expect(Object.keys(headers).sort()).to.deep.equal(
      ['trace', ...Object.values(DEAD_LETTER_HEADERS)].sort(),
    );
  });

  it('keeps record positions in decode errors readable, and names thrown non-errors by type', () => {
    const decode = new DecodeError({ topic: 'orders', partition: 2, offset: 7 }, 'value', new Error('bad'));
    expect(build(decode).headers![DEAD_LETTER_HEADERS.error]).to.equal(
      'Cannot decode the value of orders[2]@7: bad',
    );
    expect(build('u:pw@h:1').headers).to.include({
      [DEAD_LETTER_HEADERS.errorName]: 'string',
      [DEAD_LETTER_HEADERS.error]: '***@h:1',
    });
  });
});
