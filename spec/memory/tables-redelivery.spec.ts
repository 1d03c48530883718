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

describe('tables: a record delivered again while its change is in flight (memory broker)', () => {
  it('moves on only once the change is durable, and the table counts it once', async () => {
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
    const pushed: number[] = [];
    let thrown = false;
    const agent = app.agent(
      'count',
      events,
      (event$) =>
        event$.pipe(
          map((message) => {
            // a throw restarts the pipeline with the messages in process: 0 comes again
            if (message.offset === 1 && !thrown) {
              thrown = true;
              throw new Error('once');
            }
            return message;
          }),
          updateTable(counts, (n) => n + 1, {
            key: (message) => {
              pushed.push(message.offset);
              return `k${message.offset}`;
            },
          }),
        ),
      { commitIntervalMs: 1, stallTimeoutMs: 0, errors: { backoff: { initialDelayMs: 5, maxDelayMs: 5 } } },
    );
    await app.start();
    await events.send('a');
    await events.send('b');
    await waitFor(() => pushed.filter((offset) => offset === 0).length === 2 && pushed.includes(1));
    // 0's change is still on its way to the changelog: its second delivery must wait for it
    expect(agent.stats().restarts).to.equal(1);
    expect(agent.stats().settled).to.equal(0);
    release();
    await waitFor(() => agent.stats().settled === 2);
    await waitForCommitted(app);
    expect([counts.get('k0'), counts.get('k1')]).to.deep.equal([1, 1]);
    await app.stop();
  });
});
