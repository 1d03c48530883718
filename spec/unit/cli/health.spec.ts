import { expect } from 'chai';
import { health } from '../../../lib/cli/health.js';
import { AgentFailedError, type AgentState } from '../../../lib/index.js';
import { agentStats } from '../../support/agent-stats.js';

const agent = (name: string, state: AgentState) => ({ stats: () => agentStats(name, 'orders', { state }) });

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

  it('is failing when an agent is not running or the app failed, and says why', () => {
    expect(health({ id: 'app', agents: [agent('a', 'stopping')], failure: undefined }).status).to.equal(
      'failing',
    );
    const failure = new AgentFailedError('a', undefined, new Error('boom'));
    const report = health({ id: 'app', agents: [agent('a', 'running')], failure });
    expect(report.status).to.equal('failing');
    expect(report.failure).to.equal('Agent a failed: boom');
  });
});
