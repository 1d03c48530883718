import { expect } from 'chai';
import {
  CHANGELOG_HEADERS,
  ChangelogPartitionsMismatchError,
  MemoryBroker,
  MemoryTransport,
  PartitionNotOwnedError,
  createApp,
  json,
  silentLogger,
  updateTable,
  type AgentOptions,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { partitionForKey } from '../../lib/transports/partitioner.js';

interface Order {
  readonly user: string;
  readonly qty: number;
}

function worker(broker: MemoryBroker, agentOptions: AgentOptions = {}, key?: (o: Order) => string) {
  const transport = new MemoryTransport(broker, { batchSize: 7 });
  const app = createApp({ id: 'shop', transport, logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 3 });
  const totals = app.table<number>('totals', { default: () => 0 });
  app.agent(
    'total',
    orders,
    (order$) =>
      order$.pipe(
        updateTable(totals, (sum, message) => sum + message.value.qty, {
          ...(key ? { key: (m) => key(m.value) } : {}),
        }),
      ),
    { commitIntervalMs: 1, stallTimeoutMs: 0, ...agentOptions },
  );
  return { app, orders, totals, transport };
}

function expectedTotals(count: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (let i = 0; i < count; i++) totals.set(`u${i % 5}`, (totals.get(`u${i % 5}`) ?? 0) + i);
  return totals;
}

function changelogSize(broker: MemoryBroker): number {
  return broker.endOffsets('shop-totals-changelog').reduce((sum, p) => sum + p.offset, 0);
}

/** What the changelog says each key holds now: its last record (as compaction would keep it). */
function lastValues(broker: MemoryBroker): Map<string, number> {
  const values = new Map<string, number>();
  for (const { partition, offset } of broker.endOffsets('shop-totals-changelog'))
    for (const record of broker.read('shop-totals-changelog', partition, 0, offset))
      values.set(record.key!.toString(), JSON.parse(record.value!.toString()) as number);
  return values;
}

async function send(broker: MemoryBroker, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++)
    broker.produce([
      {
        topic: 'orders',
        key: Buffer.from(`u${i % 5}`),
        value: Buffer.from(JSON.stringify({ user: `u${i % 5}`, qty: i })),
      },
    ]);
}

describe('tables on the memory broker', () => {
  it('sums per key, writes the changelog with source headers on each produce’s last record, and gets synchronously', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const { app, totals } = worker(broker);
    await app.start();
    await send(broker, 0, 50);
    await waitForCommitted(app);
    for (const [user, total] of expectedTotals(50)) expect(totals.get(user)).to.equal(total);
    const changelog = broker.endOffsets('shop-totals-changelog');
    expect(changelog).to.have.length(3);
    // a compacted changelog needs the last value of each key: a batch writes that, not every change
    expect(changelog.reduce((sum, p) => sum + p.offset, 0)).to.be.within(5, 50);
    expect(lastValues(broker)).to.deep.equal(expectedTotals(50));
    const busy = changelog.find((p) => p.offset > 0)!.partition;
    const records = broker.read('shop-totals-changelog', busy, 0, changelog[busy]!.offset);
    // the partition's last record (a produce's last) names its source record and the applied offsets
    const last = records.at(-1)!;
    expect(last.headers).to.include({
      [CHANGELOG_HEADERS.sourceTopic]: 'orders',
      [CHANGELOG_HEADERS.sourcePartition]: String(busy),
    });
    expect(Number(last.headers[CHANGELOG_HEADERS.sourceOffset])).to.be.at.least(0);
    expect(last.headers[CHANGELOG_HEADERS.applied]).to.be.a('string');
    // a record carries source headers only with the applied offsets (as a produce's last)
    for (const record of records)
      expect(CHANGELOG_HEADERS.sourceTopic in record.headers).to.equal(
        CHANGELOG_HEADERS.applied in record.headers,
      );
    expect(totals.stats()).to.include({ state: 'ready', partitionCount: 3 });
    await app.stop();
  });

  it('after a crash with changes written but offsets not committed, a restart restores the table and applies nothing twice', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const first = worker(broker, { commitIntervalMs: 60_000 }); // nothing committed before the crash
    await first.app.start();
    await send(broker, 0, 40);
    // settled, and the changes acknowledged by the changelog (a settled record's offset is held until then)
    await waitFor(() => first.app.agents[0]!.stats().settled === 40);
    await waitFor(() => first.totals.stats().partitions.every((p) => p.pendingWrites === 0));
    const beforeCrash = changelogSize(broker);
    expect(lastValues(broker)).to.deep.equal(expectedTotals(40));
    await first.transport.crash(); // kill -9: changelog ahead of the committed offsets
    const second = worker(broker);
    await second.app.start();
    await send(broker, 40, 60);
    await waitForCommitted(second.app);
    for (const [user, total] of expectedTotals(60)) expect(second.totals.get(user)).to.equal(total);
    // the 40 redelivered records passed as replays and wrote nothing: only the 20 new ones wrote
    expect(changelogSize(broker) - beforeCrash).to.be.within(1, 20);
    expect(lastValues(broker)).to.deep.equal(expectedTotals(60));
    await Promise.all([first.app.stop(), second.app.stop()]);
  });

  it('reading a key of a partition owned by another worker throws PartitionNotOwnedError naming it', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const a = worker(broker);
    const b = worker(broker);
    await a.app.start();
    await b.app.start();
    await waitFor(() => a.totals.ownedPartitions().length + b.totals.ownedPartitions().length === 3);
    await waitFor(() => a.totals.stats().state === 'ready' && b.totals.stats().state === 'ready');
    const user = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6'].find((u) => !a.totals.ownsKey(u))!;
    const partition = partitionForKey(Buffer.from(user), 3);
    expect(() => a.totals.get(user))
      .to.throw(PartitionNotOwnedError)
      .with.property('partition', partition);
    expect(b.totals.ownsKey(user)).to.equal(true);
    expect(b.totals.get(user)).to.equal(0);
    await Promise.all([a.app.stop(), b.app.stop()]);
  });

  it('a changelog with another partition count fails the agent with ChangelogPartitionsMismatchError', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    broker.createTopic('shop-totals-changelog', 2);
    const { app } = worker(broker);
    await app.start();
    await waitFor(() => app.agents[0]!.state === 'failed' || app.agents[0]!.state === 'stopped');
    expect(app.agents[0]!.failure?.cause).to.be.instanceOf(ChangelogPartitionsMismatchError);
    expect(String(app.agents[0]!.failure?.message)).to.match(/has 2 partitions, its source orders has 3/);
    await app.stop();
  });

  it('a table key that hashes to another partition than the message fails it with RepartitionRequiredError', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const { app } = worker(
      broker,
      { errors: { retries: 0, onFailure: 'dead-letter' } },
      (o) => `${o.user}-by-symbol`,
    );
    await app.start();
    await send(broker, 0, 20);
    await waitForCommitted(app);
    const dlq = broker.endOffsets('orders.dlq').reduce((s, p) => s + p.offset, 0);
    let mismatched = 0;
    for (let i = 0; i < 20; i++) {
      const user = `u${i % 5}`;
      if (partitionForKey(Buffer.from(`${user}-by-symbol`), 3) !== partitionForKey(Buffer.from(user), 3))
        mismatched++;
    }
    expect(mismatched).to.be.greaterThan(0);
    expect(dlq).to.equal(mismatched);
    const record = broker
      .read('orders.dlq', 0, 0, 100)
      .concat(broker.read('orders.dlq', 1, 0, 100), broker.read('orders.dlq', 2, 0, 100))[0]!;
    expect(JSON.stringify(record.headers)).to.match(/RepartitionRequiredError/);
    await app.stop();
  });
});
