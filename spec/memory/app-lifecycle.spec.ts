import { expect } from 'chai';
import { MemoryBroker, MemoryTransport, createApp, mapValue } from '../../lib/index.js';
import { waitForCommitted } from '../../lib/testing/index.js';
import { capturingLogger } from '../support/audit.js';
import { delegateTransport } from '../support/delegate.js';

describe('app lifecycle', () => {
  it('runs onStop hooks after the agents committed and the broker connection closed, last registered first', async () => {
    const broker = new MemoryBroker();
    const events: string[] = [];
    const inner = new MemoryTransport(broker);
    const transport = delegateTransport(inner, {
      close: async () => {
        events.push('transport closed');
        await inner.close();
      },
    });
    const logger = capturingLogger();
    const app = createApp({ id: 'lifecycle', transport, logger });
    const items = app.topic<number>('items');
    app.agent('double', items, (item$) => item$.pipe(mapValue((n) => n * 2)));
    app.onStop(() =>
      events.push(
        `first hook, committed ${JSON.stringify(broker.committedOffsets('lifecycle.double', 'items'))}`,
      ),
    );
    app.onStop(() => {
      events.push('second hook');
      throw new Error('cannot close');
    });
    await app.start();
    await items.sendMany([1, 2, 3].map((value) => ({ value })));
    await waitForCommitted(app);
    await app.stop();
    expect(events).to.deep.equal([
      'transport closed',
      'second hook',
      'first hook, committed [{"topic":"items","partition":0,"offset":3}]',
    ]);
    expect(
      logger.lines.some((line) => line.level === 'warn' && line.message === 'an onStop hook failed'),
    ).to.equal(true);
  });
});
