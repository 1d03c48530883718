import { expect } from 'chai';
import { waitForCommitted } from '../../lib/testing/index.js';
import { memoryBroker } from '../../lib/index.js';
import { countPerMinute } from '../../samples/order-volume/order-volume.js';
import { type Fill, POSITION_LIMIT } from '../../samples/positions/positions.js';
import { volumePerMinute } from '../../samples/region-volume/region-volume.js';
import { setupSamples } from '../../samples/setup.js';

/** Crossings of ±limit in the order the table saw the fills: each partition of the by-account topic in offset order. */
function crossingsAsRead(brokerName: string): string[] {
  const broker = memoryBroker(brokerName);
  const topic = 'positions-by-account-repartition';
  const crossings: string[] = [];
  const positions = new Map<string, number>();
  for (let partition = 0; partition < broker.partitions(topic); partition++)
    for (const record of broker.read(topic, partition, 0, Number.MAX_SAFE_INTEGER)) {
      const fill = JSON.parse(record.value!.toString()) as Fill;
      const key = `${fill.account}/${fill.symbol}`;
      const before = positions.get(key) ?? 0;
      const after = before + fill.quantity;
      if (Math.abs(before) <= POSITION_LIMIT && Math.abs(after) > POSITION_LIMIT)
        crossings.push(fill.orderId);
      positions.set(key, after);
    }
  return crossings.sort();
}

describe('samples end to end on memory://', () => {
  it('runs the sample apps with their stand-ins: every activity cached, every order confirmed once and checked', async () => {
    const previous = process.env.RIVULET_LOG_LEVEL;
    process.env.RIVULET_LOG_LEVEL = 'silent';
    const brokerName = `samples-spec-${Date.now()}`;
    const samples = await setupSamples({}, { brokerName });
    try {
      await Promise.all(samples.apps.map((app) => app.start()));
      const { fills } = await samples.generate(1200, 300, undefined, 2000);
      await Promise.all(samples.apps.map((app) => waitForCommitted(app)));
      await Promise.all(samples.apps.map((app) => app.stop()));
      const results = await samples.results();
      expect(results.find((line) => line.startsWith('feed cache'))).to.match(
        /^feed cache: 1200 entries in 50 sorted sets/,
      );
      expect(results.find((line) => line.startsWith('order confirmations'))).to.match(
        /^order confirmations: 300 distinct e-mails sent in \d+ requests/,
      );
      expect(results.find((line) => line.startsWith('execution quality'))).to.match(
        /^execution quality: 300 orders checked, 15 outliers flagged \(e\.g\. order-7: 500 bps\)/,
      );
      const stats = samples.apps.flatMap((app) => app.agents.map((agent) => agent.stats()));
      expect(stats.map((s) => [s.name, s.settled, s.deadLettered])).to.deep.include.members([
        ['save-activities', 1200, 0],
        ['confirm-orders', 300, 0],
        ['check-executions', 300, 0],
        ['flag-outliers', 300, 0],
        ['by-account-repartition', 2000, 0],
        ['track-positions', 2000, 0],
      ]);

      // positions: the table equals the fold of the fills; an alert for exactly each crossing
      const { books, alerts } = samples.positions();
      const expected = new Map<string, Record<string, number>>();
      for (const f of fills) {
        const book = expected.get(f.account) ?? {};
        book[f.symbol] = (book[f.symbol] ?? 0) + f.quantity;
        expected.set(f.account, book);
      }
      expect(new Map([...books].map(([account, book]) => [account, book.positions]))).to.deep.equal(expected);
      const crossings = crossingsAsRead(brokerName);
      expect(crossings.length).to.be.above(10);
      expect(alerts.map((a) => a.orderId).sort()).to.deep.equal(crossings);
      const [account, symbol, quantity] = [...expected]
        .flatMap(([account, book]) =>
          Object.entries(book).map(([symbol, q]) => [account, symbol, q] as const),
        )
        .reduce((a, b) => (Math.abs(b[2]) > Math.abs(a[2]) ? b : a));
      expect(results.find((line) => line.startsWith('positions'))).to.equal(
        `positions: 10 accounts, ${crossings.length} alerts; ${account}: ${symbol} ${quantity > 0 ? '+' : ''}${quantity}`,
      );
    } finally {
      await samples.close();
      if (previous === undefined) delete process.env.RIVULET_LOG_LEVEL;
      else process.env.RIVULET_LOG_LEVEL = previous;
    }
  });

  it('order volume and region volume as npm start runs them: one point per symbol (region) and minute, equal to the orders generated', async function () {
    this.timeout(60_000); // the last window closes a grace period (10 s) after the last order
    const previous = process.env.RIVULET_LOG_LEVEL;
    process.env.RIVULET_LOG_LEVEL = 'silent';
    const samples = await setupSamples({}, { brokerName: `order-volume-spec-${Date.now()}` });
    try {
      await Promise.all(samples.apps.map((app) => app.start()));
      const { orders, customers } = await samples.generate(0, 600, undefined, 0);
      await Promise.all(samples.apps.map((app) => waitForCommitted(app)));
      await samples.windowsClosed(orders.length, { timeoutMs: 45_000 });
      await Promise.all(samples.apps.map((app) => app.stop()));
      const { minutes, late } = samples.orderVolume();
      expect(late).to.equal(0);
      const written = new Map([...minutes].map(([id, minute]) => [id, minute.count]));
      const expected = countPerMinute(orders);
      expect(expected.size).to.be.at.least(5); // every symbol has orders
      expect(written).to.deep.equal(expected);
      const results = await samples.results();
      const busiest = Math.max(...expected.values());
      expect(results.find((line) => line.startsWith('order volume'))).to.match(
        new RegExp(
          `^order volume: 600 orders in ${expected.size} symbol-minutes written; busiest: \\w+ at \\d\\d:\\d\\d UTC \\(${busiest}\\)$`,
        ),
      );

      // region volume: each order under its customer's region (the global table), orders and shares exact
      const region = samples.regionVolume();
      expect(region.late).to.equal(0);
      const regionWritten = new Map(
        [...region.minutes].map(([id, m]) => [id, { orders: m.orders, quantity: m.quantity }]),
      );
      const regionExpected = volumePerMinute(orders, customers);
      expect([...regionExpected.keys()].map((id) => id.split('|')[0])).to.include.members([
        'emea',
        'americas',
        'apac',
      ]);
      expect(regionWritten).to.deep.equal(regionExpected);
      const shares = orders.reduce((sum, o) => sum + o.quantity, 0);
      expect(results.find((line) => line.startsWith('region volume'))).to.match(
        new RegExp(
          `^region volume: 600 orders \\(${shares} shares\\) in ${regionExpected.size} region-minutes written; busiest: \\w+ at \\d\\d:\\d\\d UTC \\(\\d+ orders\\)$`,
        ),
      );
    } finally {
      await Promise.all(samples.apps.map((app) => app.stop()));
      await samples.close();
      if (previous === undefined) delete process.env.RIVULET_LOG_LEVEL;
      else process.env.RIVULET_LOG_LEVEL = previous;
    }
  });
});
