import { expect } from 'chai';
import { health } from '../../../lib/cli/health.js';
import { AgentFailedError, type AgentState } from '../../../lib/index.js';
import { agentStats } from '../../support/agent-stats.js';

const agent = (name: string, state: AgentState, failure?: Error) => ({
  stats: () => agentStats(name, 'orders', { state }),
  failure,
});

class KafkaJSSASLAuthenticationError extends Error {
  override name = 'KafkaJSSASLAuthenticationError';
}

describe('health', () => {
  it('is ok while every agent runs', () => {
    const report = health({
      id: 'app',
      agents: [agent('a', 'running'), agent('b', 'running')],
      failure: undefined,
    });
    expect(report).to.deep.equal({
      status: 'ok',
      app: 'app',
      agents: [
        { name: 'a', topic: 'orders', state: 'running' },
        { name: 'b', topic: 'orders', state: 'running' },
      ],
    });
  });

  it('is failing when an agent is not running', () => {
    expect(health({ id: 'app', agents: [agent('a', 'stopping')] }).status).to.equal('failing');
    expect(health({ id: 'app', agents: [agent('a', 'idle')] }).status).to.equal('failing');
  });

  it('says why an agent failed and why the app did: classes and the message, credentials masked', () => {
    const cause = new KafkaJSSASLAuthenticationError(
      'SASL authentication failed for kafka://alice:hunter22@k1:9092',
    );
    const failure = new AgentFailedError('a', undefined, cause);
    const report = health({
      id: 'app',
      agents: [agent('a', 'stopped', failure), agent('b', 'stopped')],
      failure,
    });
    const why = {
      error: 'AgentFailedError',
      cause: 'KafkaJSSASLAuthenticationError',
      message: 'Agent a failed: SASL authentication failed for kafka://***@k1:9092',
    };
    expect(report).to.deep.equal({
      status: 'failing',
      app: 'app',
      agents: [
        { name: 'a', topic: 'orders', state: 'stopped', failure: why },
        { name: 'b', topic: 'orders', state: 'stopped' },
      ],
      failure: why,
    });
    expect(JSON.stringify(report)).not.to.contain('hunter22');
  });

  it('is failing when an agent failed even if its state still reads running, and takes any thrown value', () => {
    const report = health({ id: 'app', agents: [agent('a', 'running', new Error('boom'))] });
    expect(report.status).to.equal('failing');
    expect(report.agents[0]!.failure).to.deep.equal({ error: 'Error', message: 'boom' });
    expect(health({ id: 'app', agents: [], failure: 'u:pw@h:1' }).failure).to.deep.equal({
      error: 'string',
      message: '***@h:1',
    });
  });
});
