import { expect } from 'chai';
import { map } from 'rxjs';
import {
  type Agent,
  type App,
  MemoryBroker,
  MemoryTransport,
  type Transport,
  createApp,
  json,
  silentLogger,
  sink,
  string,
  toTopic,
  updateTable,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { delegateTransport } from '../support/delegate.js';

/**
 * A direct subscription (`topic.pipe(...).subscribe()`) runs the operators applied to the topic inside
 * its agent, because they lift (`core/operate-messages.ts`): a record of it settles only once a table
 * change or a sink write of it is durable, never when the operator merely took it.
 */
describe('a direct subscription through a table or a sink (memory://)', () => {
  /** A transport that refuses produces to `topic` while `down()` says so. */
  function refusing(broker: MemoryBroker, topic: string, down: () => boolean): Transport {
    const inner = new MemoryTransport(broker);
    return delegateTransport(inner, {
      produce: async (records) => {
        if (down() && records.some((r) => r.topic === topic)) throw new Error('broker unavailable');
        return inner.produce(records);
      },
    });
  }

  const direct = (app: App): Agent<unknown, unknown> =>
    app.agents.find((a) => a.name === 'items.subscriber')!;

  async function committed(app: App): Promise<number> {
    const offsets = await (await app.transport()).committedOffsets('durable.items.subscriber', 'items');
    return offsets.reduce((sum, { offset }) => sum + offset, 0);
  }

  function counting(transport: Transport) {
    const app = createApp({
      id: 'durable',
      transport,
      logger: silentLogger,
      shutdownTimeoutMs: 300,
      agentDefaults: { commitIntervalMs: 1, stallTimeoutMs: 0 },
    });
    const items = app.topic('items', { value: string(), partitions: 1 });
    const counts = app.table<number>('counts', { value: json(), default: () => 0 });
    return { app, items, counts };
  }

  it('updateTable: nothing commits before its changelog write is acknowledged; the counts are exact after a restart', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    let down = true;
    const first = counting(refusing(broker, 'durable-counts-changelog', () => down));
    await first.app.start();
    await first.items.sendMany([
      { key: 'k', value: 'a' },
      { key: 'k', value: 'b' },
      { key: 'k', value: 'c' },
    ]);
    const subscription = first.items.pipe(updateTable(first.counts, (n) => n + 1)).subscribe();
    // every record was pushed and applied (later ones see earlier results while the write is refused)
    await waitFor(() => first.counts.get('k') === 3);
    // moved on and settled (the record cache), but their offsets are held until the changes are durable
    expect(direct(first.app).stats().partitions[0]!.committable).to.equal(0);
    expect(await committed(first.app)).to.equal(0);
    // the worker goes away with the changes never written: nothing of them may have been committed
    await first.app.stop();
    subscription.unsubscribe();
    down = false;

    const second = counting(new MemoryTransport(broker));
    await second.app.start();
    second.items.pipe(updateTable(second.counts, (n) => n + 1)).subscribe();
    await second.items.sendMany([
      { key: 'k', value: 'd' },
      { key: 'k', value: 'e' },
    ]);
    await waitFor(() => direct(second.app).stats().settled === 5);
    await waitForCommitted(second.app);
    expect(second.counts.get('k')).to.equal(5);
    expect(await committed(second.app)).to.equal(5);
    await second.app.stop();
  });

  it('updateTable then a plain map to values: the records move on at once, and commit once their change is durable', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    let down = true;
    const { app, items, counts } = counting(refusing(broker, 'durable-counts-changelog', () => down));
    await app.start();
    await items.sendMany([
      { key: 'k', value: 'a' },
      { key: 'k', value: 'b' },
      { key: 'k', value: 'c' },
    ]);
    const seen: number[] = [];
    const subscription = items
      .pipe(
        updateTable(counts, (n) => n + 1),
        map((update) => update.value.value),
      )
      .subscribe((n) => seen.push(n));
    await waitFor(() => counts.get('k') === 3 && seen.length === 3);
    expect(direct(app).stats().partitions[0]!.committable).to.equal(0);
    expect(await committed(app)).to.equal(0);
    down = false;
    await waitForCommitted(app);
    expect(direct(app).stats().settled).to.equal(3);
    expect(seen).to.deep.equal([1, 2, 3]);
    subscription.unsubscribe();
    await app.stop();
  });

  for (const [name, end] of [
    [
      'toTopic',
      (out: ReturnType<App['topic']>) => toTopic(out, { retry: { backoff: { initialDelayMs: 1 } } }),
    ],
    [
      'a custom sink',
      (out: ReturnType<App['topic']>) =>
        sink<unknown, unknown>((batch) => out.sendMany(batch.map((m) => ({ value: m.value }))), {
          name: 'copy',
          retry: { backoff: { initialDelayMs: 1 } },
        }),
    ],
  ] as const) {
    it(`${name}: nothing commits before the write succeeded`, async () => {
      const broker = new MemoryBroker({ defaultPartitions: 1 });
      let down = true;
      const app = createApp({
        id: 'durable',
        transport: refusing(broker, 'out', () => down),
        logger: silentLogger,
        agentDefaults: { commitIntervalMs: 1, stallTimeoutMs: 0, errors: { retries: 1 } },
      });
      const items = app.topic('items', { value: string(), partitions: 1 });
      const out = app.topic('out', { value: string(), partitions: 1 });
      await app.start();
      await items.sendMany([{ value: 'a' }, { value: 'b' }]);
      const subscription = items.pipe(end(out as ReturnType<App['topic']>)).subscribe();
      // the writes are refused for as long as the sink retries: the records wait, as an outage
      await waitFor(() => direct(app).stats().held === 2);
      expect(direct(app).stats().settled).to.equal(0);
      expect(await committed(app)).to.equal(0);
      down = false;
      await waitForCommitted(app);
      expect(direct(app).stats().settled).to.equal(2);
      expect(broker.read('out', 0, 0, 10).map((r) => r.value!.toString())).to.have.members(['a', 'b']);
      expect(broker.read('items.dlq', 0, 0, 10)).to.have.length(0);
      await app.stop();
      subscription.unsubscribe();
    });
  }
});
