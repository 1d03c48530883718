import { expect } from 'chai';
import { map } from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  string,
  updateTable,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

const CHANGELOG = 'redo-counts-changelog';

/** An app whose changelog produces wait until `release()`. */
function gated() {
  const broker = new MemoryBroker({ defaultPartitions: 1 });
  const transport = new MemoryTransport(broker, { batchSize: 10 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const produce = transport.produce.bind(transport);
  transport.produce = async (records) => {
    if (records.some((r) => r.topic === CHANGELOG)) await gate;
    return produce(records);
  };
  const app = createApp({ id: 'redo', transport, logger: silentLogger });
  const events = app.topic('events', { value: string(), partitions: 1 });
  const counts = app.table<number>('counts', { value: json(), default: () => 0 });
  return { broker, app, agent: { events }, counts, release };
}

describe('tables: a record whose change is in flight (memory broker)', () => {
  it('a record whose change is in flight settles at once, but its offset commits only once the change is durable', async () => {
    const { broker, app, agent, counts, release } = gated();
    const moved: string[] = [];
    app.agent(
      'count',
      agent.events,
      (event$) =>
        event$.pipe(
          updateTable(counts, (n) => n + 1, { key: (message) => `k${message.offset}` }),
          map((update) => {
            moved.push(`${update.value.key}:${update.value.replayed}`);
            return update;
          }),
        ),
      { commitIntervalMs: 1, stallTimeoutMs: 0 },
    );
    await app.start();
    await agent.events.send('a');
    await agent.events.send('b');
    await waitFor(() => app.agents[0]!.stats().settled === 2);
    // moved on and settled, out of maxInFlight; the changes wait for the changelog, and so does the commit
    expect(moved).to.deep.equal(['k0:false', 'k1:false']);
    expect(app.agents[0]!.stats().inFlight).to.equal(0);
    expect(counts.stats().partitions[0]!.pendingWrites).to.equal(2);
    expect(app.agents[0]!.stats().partitions[0]!.committable).to.equal(0);
    expect(app.agents[0]!.stats().partitions[0]!.committed).to.be.at.most(0);
    release();
    await waitForCommitted(app);
    expect(broker.committedOffsets('redo.count', 'events')).to.deep.equal([
      { topic: 'events', partition: 0, offset: 2 },
    ]);
    expect([counts.get('k0'), counts.get('k1')]).to.deep.equal([1, 1]);
    await app.stop();
  });

  it('delivered again while its change is in flight (a failure downstream), it moves on as a replay once the change is durable, counted once', async () => {
    const { app, agent, counts, release } = gated();
    const moved: string[] = [];
    let thrown = false;
    let reached = 0;
    app.agent(
      'count',
      agent.events,
      (event$) =>
        event$.pipe(
          updateTable(counts, (n) => n + 1, {
            key: (message) => {
              reached++;
              return `k${message.offset}`;
            },
          }),
          map((update) => {
            // a throw after the table: the record is retried, and reaches the table again
            if (update.offset === 0 && !thrown) {
              thrown = true;
              throw new Error('once');
            }
            moved.push(`${update.value.key}:${update.value.replayed}`);
            return update;
          }),
        ),
      { commitIntervalMs: 1, stallTimeoutMs: 0, errors: { backoff: { initialDelayMs: 5, maxDelayMs: 5 } } },
    );
    await app.start();
    await agent.events.send('a');
    await waitFor(() => reached === 2); // retried: it waits for its change
    expect(moved).to.deep.equal([]);
    expect(app.agents[0]!.stats().settled).to.equal(0);
    release();
    await waitFor(() => app.agents[0]!.stats().settled === 1);
    await waitForCommitted(app);
    expect(moved).to.deep.equal(['k0:true']);
    expect(counts.get('k0')).to.equal(1);
    await app.stop();
  });
});
