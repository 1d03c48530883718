import { expect } from 'chai';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  updateTable,
} from '../../lib/index.js';
import { waitFor } from '../../lib/testing/index.js';
import { delegateTransport } from '../support/delegate.js';

describe('stopping an app whose table writes cannot land', () => {
  it('returns within shutdownTimeoutMs: the table lets go of its partitions when the app closes it', async function () {
    this.timeout(10_000); // the table's own revoke timeout is 30 s: waiting for it would fail here
    const broker = new MemoryBroker();
    const inner = new MemoryTransport(broker);
    const transport = delegateTransport(inner, {
      produce: (records) =>
        records.some((r) => r.topic.endsWith('-changelog'))
          ? new Promise<never>(() => undefined) // the broker never answers
          : inner.produce(records),
    });
    const app = createApp({ id: 'shop', transport, logger: silentLogger, shutdownTimeoutMs: 300 });
    const orders = app.topic<{ qty: number }>('orders', { value: json(), partitions: 1 });
    const totals = app.table<number>('totals', { default: () => 0 });
    app.agent('total', orders, (order$) => order$.pipe(updateTable(totals, (sum, m) => sum + m.value.qty)));
    await app.start();
    await orders.send({ qty: 1 }, { key: 'ada' });
    await waitFor(() => totals.stats().partitions.some((p) => p.pendingWrites === 1));
    const started = Date.now();
    await app.stop();
    // left for redelivery: its offset was held while its change was in flight, so nothing past it committed
    expect(broker.committedOffsets('shop.total', 'orders').filter((o) => o.offset > 0)).to.deep.equal([]);
    expect(Date.now() - started).to.be.below(5_000);
  });
});
