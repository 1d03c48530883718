import { expect } from 'chai';
import { cliLogger } from '../../../lib/cli/cli-logger.js';

const kafka = (namespace: string) => ({ client: 'kafkajs', namespace, broker: '127.0.0.1:1' });

describe('cliLogger: the CLI clients log to stderr, kafkajs noise folded', () => {
  function run(verbose: boolean): { lines: string[]; failedConnections: number } {
    const lines: string[] = [];
    const logger = cliLogger({ verbose, write: (line) => lines.push(line) });
    for (let attempt = 0; attempt < 3; attempt++) {
      logger.error(kafka('Connection'), 'Connection error: connect ECONNREFUSED 127.0.0.1:1');
      logger.error(
        kafka('BrokerPool'),
        'Failed to connect to seed broker, trying another broker from the list: Connection error',
      );
    }
    logger.error(kafka('Connection'), 'Response Metadata(key: 3, version: 6)');
    logger.debug({}, 'kafka transport connected');
    logger.warn({ topic: 't' }, 'partition 0 of t is stuck at offset 3 for kafka://u:pw@k1:9092');
    return { lines, failedConnections: logger.failedConnections };
  }

  it('prints rivulet lines, not kafkajs retries or debug; counts the failed connections', () => {
    expect(run(false)).to.deep.equal({
      lines: ['rivulet: warn: partition 0 of t is stuck at offset 3 for kafka://***@k1:9092\n'],
      failedConnections: 3,
    });
  });

  it('prints everything when verbose', () => {
    const { lines, failedConnections } = run(true);
    expect(failedConnections).to.equal(3);
    expect(lines).to.have.length(9);
    expect(lines[0]).to.equal(
      'rivulet: error: kafka Connection: Connection error: connect ECONNREFUSED 127.0.0.1:1\n',
    );
    expect(lines[7]).to.equal('rivulet: debug: kafka transport connected\n');
  });
});
