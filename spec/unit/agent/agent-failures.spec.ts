import { expect } from 'chai';
import { PartitionTracker } from '../../../lib/agent/partition-tracker.js';
import { Lineage } from '../../../lib/core/lineage.js';
import { MemoryBroker, MemoryTransport, createApp, json, silentLogger } from '../../../lib/index.js';

const record = (offset: number) => ({
  offset,
  key: null,
  value: Buffer.from('{}'),
  headers: {},
  timestamp: 0,
});

describe('Agent: failures of an attempt', () => {
  const agentOf = () => {
    const app = createApp({
      id: 'stale',
      transport: new MemoryTransport(new MemoryBroker()),
      logger: silentLogger,
    });
    const items = app.topic('items', { value: json() });
    return app.agent('a', items, (item$) => item$); // never started: a failure is left for redelivery
  };

  it("goes to the error policy when it is the record's current attempt", () => {
    const agent = agentOf();
    const entry = new PartitionTracker('items', 0).add(record(0), 0, { key: null, value: {} });
    entry.lineage = new Lineage(agent, entry);
    agent.onFailed(entry.lineage, new Error('boom'));
    expect(entry.attempts).to.equal(1);
    expect(entry.stage).to.equal('abandoned');
  });

  it('is ignored when the record was handed over again since (a stale attempt)', () => {
    const agent = agentOf();
    const entry = new PartitionTracker('items', 0).add(record(0), 0, { key: null, value: {} });
    const stale = new Lineage(agent, entry);
    entry.lineage = new Lineage(agent, entry); // the pipeline restarted: a fresh attempt
    agent.onFailed(stale, new Error('late failure of the first attempt'));
    expect(entry.attempts).to.equal(0);
    expect(entry.stage).to.equal('processing');
  });
});
