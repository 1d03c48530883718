import { expect } from 'chai';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { CliUsageError } from '../../../lib/cli/cli-errors.js';
import { errorLine } from '../../../lib/cli/error-line.js';
import { ConnectionError } from '../../../lib/app/connection.js';

/** kafkajs's error when it gave up connecting, as its retrier throws it. */
function refused(broker = '127.0.0.1:1', retryCount = 5): Error {
  const cause = new KafkaJSConnectionError(`Connection error: connect ECONNREFUSED ${broker}`, {
    broker,
    code: 'ECONNREFUSED',
  });
  return new KafkaJSNumberOfRetriesExceeded(cause, { retryCount, retryTime: 8000 });
}

describe('errorLine: one readable line for the error that ended a command', () => {
  it('says kafka cannot be reached, where, why and after how many attempts', () => {
    expect(errorLine(refused())).to.equal(
      'cannot reach kafka at 127.0.0.1:1: Connection error: connect ECONNREFUSED (after 6 attempts)',
    );
  });

  it('finds the kafkajs failure under rivulet errors that wrap it', () => {
    const wrapped = new ConnectionError('kafka://127.0.0.1:1', refused('127.0.0.1:1', 2));
    expect(errorLine(wrapped)).to.equal(
      'cannot reach kafka at 127.0.0.1:1: Connection error: connect ECONNREFUSED (after 3 attempts)',
    );
  });

  it('uses the failed connections the log counted when kafkajs does not say', () => {
    const bare = new KafkaJSConnectionError('Connection timeout', { broker: 'k1:9092' });
    expect(errorLine(bare, { failedConnections: 4 })).to.equal(
      'cannot reach kafka at k1:9092: Connection timeout (after 4 attempts)',
    );
    expect(errorLine(bare)).to.equal('cannot reach kafka at k1:9092: Connection timeout');
  });

  it('prints rivulet errors as their message, others with their name, on one line, credentials masked', () => {
    expect(errorLine(new CliUsageError('The value is not JSON: {oops'))).to.equal(
      'The value is not JSON: {oops',
    );
    expect(errorLine(new Error('plain'))).to.equal('plain');
    expect(errorLine(new TypeError('x is not a function\n    more'))).to.equal(
      'TypeError: x is not a function more',
    );
    expect(errorLine(new KafkaJSProtocolError('This server does not host this topic-partition'))).to.equal(
      'KafkaJSProtocolError: This server does not host this topic-partition',
    );
    expect(errorLine(new Error('bad url kafka://alice:s3cret@k1:9092'))).to.equal(
      'bad url kafka://***@k1:9092',
    );
    expect(errorLine('a string')).to.equal('a string');
  });

  it('adds the stack and its causes only when verbose, still masked', () => {
    const error = new ConnectionError('kafka://alice:s3cret@k1:9092', refused());
    expect(errorLine(error).split('\n')).to.have.length(1);
    const verbose = errorLine(error, { verbose: true });
    expect(verbose.split('\n')[0]).to.equal(errorLine(error));
    expect(verbose).to.contain('ConnectionError: Cannot reach kafka://***@k1:9092');
    expect(verbose).to.contain('caused by: KafkaJS');
    expect(verbose).to.match(/\n\s+at /);
    expect(verbose).not.to.contain('s3cret');
  });
});
