import { expect } from 'chai';
import { map } from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  mergeMapValue,
  silentLogger,
  string,
  updateTable,
} from '../../lib/index.js';
import { waitFor } from '../../lib/testing/index.js';

/** An app counting events per key on the memory broker; `commitIntervalMs` is the agent's. */
function counting(commitIntervalMs: number) {
  const broker = new MemoryBroker({ defaultPartitions: 1 });
  const app = createApp({ id: 'cache', transport: new MemoryTransport(broker), logger: silentLogger });
  const events = app.topic('events', { value: string(), partitions: 1 });
  const counts = app.table<number>('counts', { value: json(), default: () => 0 });
  const options = { commitIntervalMs, stallTimeoutMs: 0, errors: { retries: 0 } };
  return { broker, app, events, counts, options };
}

describe('tables: the record cache (a change made, its message moves on at once; memory broker)', () => {
  it('a copy of a record fanned out before the table fails as such, not as a delivery again, though the first copy’s message moved on', async () => {
    const { broker, app, events, counts, options } = counting(1);
    const moved: string[] = [];
    app.agent(
      'count',
      events,
      (event$) =>
        event$.pipe(
          mergeMapValue((value: string) => [value, value]),
          updateTable(counts, (n) => n + 1, { key: (message) => message.value }),
          map((update) => {
            moved.push(`${update.value.key}:${update.value.replayed}`);
            return update;
          }),
        ),
      options,
    );
    await app.start();
    await events.send('a');
    await waitFor(() => broker.endOffset('events.dlq', 0) === 1);
    const [dead] = broker.read('events.dlq', 0, 0, 1);
    expect(JSON.stringify(dead!.headers)).to.match(/twice in one attempt/);
    expect(moved).to.deep.equal(['a:false']);
    expect(counts.get('a')).to.equal(1);
    await app.stop();
  });

  it('a change waits at most 1 s for more, however long the commit interval', async () => {
    const { broker, app, events, counts, options } = counting(10 * 60_000);
    app.agent('count', events, (event$) => event$.pipe(updateTable(counts, (n) => n + 1)), options);
    await app.start();
    await events.send('a', { key: 'k' });
    await waitFor(() => broker.endOffset('cache-counts-changelog', 0) === 1, { timeoutMs: 5_000 });
    expect(counts.get('k')).to.equal(1);
    await app.stop();
  });

  it('a value JSON cannot encode fails its record at once (dead-lettered, the key unchanged); numbers are written as ever', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const app = createApp({ id: 'cache', transport: new MemoryTransport(broker), logger: silentLogger });
    const events = app.topic('events', { value: string(), partitions: 1 });
    const totals = app.table<{ n: number | bigint }>('totals', { value: json(), default: () => ({ n: 0 }) });
    const moved: string[] = [];
    app.agent(
      'total',
      events,
      (event$) =>
        event$.pipe(
          updateTable(
            totals,
            (total, message) => ({ n: message.value === 'big' ? 1n : Number(total.n) + 1 }),
            {
              key: () => 'k',
            },
          ),
          map((update) => {
            moved.push(String(update.value.value.n));
            return update;
          }),
        ),
      { commitIntervalMs: 1, stallTimeoutMs: 0, errors: { retries: 0 } },
    );
    await app.start();
    for (const value of ['a', 'big', 'b']) await events.send(value);
    await waitFor(() => broker.endOffset('events.dlq', 0) === 1 && moved.length === 2);
    expect(JSON.stringify(broker.read('events.dlq', 0, 0, 1)[0]!.headers)).to.match(/BigInt/);
    expect(moved).to.deep.equal(['1', '2']);
    await waitFor(() => broker.endOffset('cache-totals-changelog', 0) >= 1);
    const last = broker.read(
      'cache-totals-changelog',
      0,
      broker.endOffset('cache-totals-changelog', 0) - 1,
      1,
    );
    expect(last[0]!.value?.toString()).to.equal('{"n":2}');
    expect(totals.get('k')).to.deep.equal({ n: 2 });
    await app.stop();
  });
});
