import { expect } from 'chai';
import { ConfigurationError } from '../../../lib/core/errors.js';
import { MASK, errorSummary, redactError, redactText } from '../../../lib/core/redact.js';

describe('redactText', () => {
  const cases: [string, string, string][] = [
    ['well-formed', 'kafka://alice:s3cret@k1:9092', 'kafka://***@k1:9092'],
    ['one slash', 'kafka:/alice:s3cret@127.0.0.1:49092?sasl=plain', 'kafka:/***@127.0.0.1:49092?sasl=plain'],
    ['no slash', 'bad kafka:alice:s3cret@k1:9092', 'bad kafka:***@k1:9092'],
    ['three slashes', 'kafka:///alice:s3cret@k1:9092', 'kafka:///***@k1:9092'],
    ['no scheme', 'at alice:s3cret@127.0.0.1:49092 now', 'at ***@127.0.0.1:49092 now'],
    ['no scheme, @ in the password', 'seed bob:s3cr@t@k2:1', 'seed ***@k2:1'],
    [
      'unencoded @ : / % ? & in the password',
      'kafka://bob:p@ss:w/rd%?&@127.0.0.1:49092?sasl=scram-sha-512',
      'kafka://***@127.0.0.1:49092?sasl=scram-sha-512',
    ],
    ['a space in the password, with a scheme', 'kafka://bob:two words@k1:9092', 'kafka://***@k1:9092'],
    ['IPv6 host', 'kafka://u:pw@[::1]:9092', 'kafka://***@[::1]:9092'],
    [
      'a URL, then more text with an @',
      'kafka:/alice:pw@k1:9092 is wrong: dial bob:s3cr@t@k2:9092',
      'kafka:/***@k1:9092 is wrong: dial ***@k2:9092',
    ],
    ['several URLs', 'kafka://a:x@k1:1 then redis://b:y@r:6379', 'kafka://***@k1:1 then redis://***@r:6379'],
    ['across lines', 'kafka://a:x\n@k1:1', 'kafka://a:x\n@k1:1'],
    ['memory URL', 'memory://u:pw@name', 'memory://***@name'],
  ];
  for (const [shape, text, expected] of cases) {
    it(`masks userinfo: ${shape}`, () => expect(redactText(text)).to.equal(expected));
  }

  it('leaves text without credentials alone, and rivulet record positions', () => {
    for (const text of [
      'kafka://k1:9092,k2:9092?ssl=true',
      'Cannot decode the value of orders[2]@1041: Unexpected token @ in JSON',
      'Agent a failed at orders.dlq[0]@7: boom',
      'a lone @ sign, and trailing@',
    ]) {
      expect(redactText(text)).to.equal(text);
    }
  });

  it('masks the given secrets, raw, URL-encoded and JSON-escaped, longest first', () => {
    const secret = 'p@ss "w/rd"';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${JSON.stringify(secret)}`;
    expect(redactText(text, [secret, 'p@ss'])).to.equal(`a ${MASK} b ${MASK} c "${MASK}"`);
  });

  it('masks a secret with a space before an @ that URL masking alone would half-show', () => {
    expect(redactText('pass word@k1:9092', ['pass word'])).to.equal(`${MASK}@k1:9092`);
    expect(redactText('pass word@k1:9092')).to.equal(`pass ${MASK}@k1:9092`);
  });

  it('ignores secrets too short to mask safely', () => {
    expect(redactText('a b c', ['b', ''])).to.equal('a b c');
  });
});

describe('redactError', () => {
  it('keeps the class name and masks message, stack and causes', () => {
    const cause = new Error('reached alice:hunter22@k1:9092');
    const error = new ConfigurationError('broker kafka:/alice:hunter22@k1:9092 refused', { cause });
    const redacted = redactError(error, ['hunter22']);
    expect(redacted.name).to.equal('ConfigurationError');
    expect(redacted.message).to.equal(`broker kafka:/${MASK}@k1:9092 refused`);
    expect(redacted.stack).to.contain('ConfigurationError').and.not.contain('hunter22');
    expect(redacted.cause?.message).to.equal(`reached ${MASK}@k1:9092`);
    expect(JSON.stringify(redacted)).not.to.contain('hunter22');
  });

  it('handles thrown non-errors and errors whose properties throw', () => {
    expect(redactError('u:pw@h:1 down')).to.deep.equal({ name: 'string', message: `${MASK}@h:1 down` });
    expect(redactError(null)).to.deep.equal({ name: 'null', message: 'null' });
    const hostile = {
      toString: () => {
        throw new Error('no');
      },
    };
    expect(redactError(hostile).message).to.equal('[unprintable]');
    const cyclic = new Error('outer');
    (cyclic as { cause?: unknown }).cause = cyclic;
    expect(() => redactError(cyclic)).not.to.throw();
  });

  it('summarises as Name: message', () => {
    expect(errorSummary(new TypeError('kafka://u:pw@k:1'))).to.equal(`TypeError: kafka://${MASK}@k:1`);
  });
});
