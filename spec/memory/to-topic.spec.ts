import { expect } from 'chai';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  mapValue,
  partitionForKey,
  silentLogger,
  string,
  toTopic,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { delegateTransport } from '../support/delegate.js';

describe('toTopic', () => {
  it('produces each result with the key of its source, encoded by the target codec, and settles after the broker has it', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const app = createApp({ id: 'to-topic', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<{ id: number; qty: number }>('orders', { value: json() });
    const totals = app.topic('totals', { value: string(), partitions: 3 });
    app.agent('total', orders, (order$) =>
      order$.pipe(
        mapValue((order) => `${order.id}:${order.qty * 2}`),
        toTopic(totals),
      ),
    );
    await app.start();
    await orders.sendMany(
      Array.from({ length: 50 }, (_, id) => ({ key: `u${id % 7}`, value: { id, qty: id } })),
    );
    await waitForCommitted(app);
    await app.stop();
    const written = [0, 1, 2].flatMap((p) => broker.read('totals', p, 0, 100).map((r) => ({ p, r })));
    expect(written).to.have.length(50);
    for (const { p, r } of written) {
      const [id, doubled] = r.value!.toString().split(':').map(Number);
      expect(doubled).to.equal(id! * 2);
      expect(r.key!.toString()).to.equal(`u${id! % 7}`);
      // keyed records land where the key hashes to, whatever the source partition was
      expect(p).to.equal(partitionForKey(Buffer.from(`u${id! % 7}`), 3));
    }
  });

  it('a produce that fails for every message is an outage: nothing dead-lettered or committed until the broker takes records again', async () => {
    const broker = new MemoryBroker();
    const inner = new MemoryTransport(broker);
    let refuse = true;
    const transport = delegateTransport(inner, {
      produce: async (records) => {
        if (refuse && records.some((r) => r.topic === 'out')) throw new Error('broker unavailable');
        return inner.produce(records);
      },
    });
    const app = createApp({ id: 'to-topic-fail', transport, logger: silentLogger });
    const input = app.topic('in', { value: string() });
    const out = app.topic('out', { value: string() });
    const agent = app.agent(
      'copy',
      input,
      (message$) => message$.pipe(toTopic(out, { retry: { backoff: { initialDelayMs: 1 } } })),
      { errors: { retries: 1, backoff: { initialDelayMs: 1, maxDelayMs: 20 } } },
    );
    await app.start();
    await input.sendMany([{ value: 'a' }, { value: 'b' }]);
    await waitFor(() => agent.stats().held === 2);
    expect(await transport.committedOffsets('to-topic-fail.copy', 'in')).to.deep.equal([]);
    refuse = false;
    await waitForCommitted(app);
    await app.stop();
    expect(broker.read('out', 0, 0, 10).map((r) => r.value!.toString())).to.have.members(['a', 'b']);
    expect(broker.read('in.dlq', 0, 0, 10)).to.have.length(0);
    expect(agent.stats().deadLettered).to.equal(0);
  });
});
