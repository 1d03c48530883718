import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  updateTable,
} from '../../lib/index.js';
import { LmdbTableStore } from '../../lib/lmdb.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

interface Order {
  readonly user: string;
  readonly qty: number;
}

function worker(broker: MemoryBroker, path: string, commitIntervalMs: number) {
  const transport = new MemoryTransport(broker, { batchSize: 7 });
  const app = createApp({ id: 'shop', transport, logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 3 });
  const totals = app.table<number>('totals', {
    default: () => 0,
    store: () => LmdbTableStore.open({ path }),
  });
  app.agent('total', orders, (order$) => order$.pipe(updateTable(totals, (sum, m) => sum + m.value.qty)), {
    commitIntervalMs,
    stallTimeoutMs: 0,
  });
  return { app, totals, transport };
}

function send(broker: MemoryBroker, from: number, to: number): void {
  for (let i = from; i < to; i++)
    broker.produce([
      {
        topic: 'orders',
        key: Buffer.from(`u${i % 5}`),
        value: Buffer.from(JSON.stringify({ user: `u${i % 5}`, qty: i })),
      },
    ]);
}

function expectedTotals(count: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (let i = 0; i < count; i++) totals.set(`u${i % 5}`, (totals.get(`u${i % 5}`) ?? 0) + i);
  return totals;
}

describe('a table on the LMDB store, through an agent', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'rivulet-lmdb-table-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('after a crash (changes written, offsets not committed) a restart replays nothing it holds and applies nothing twice', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const first = worker(broker, dir, 60_000); // nothing committed before the crash
    await first.app.start();
    send(broker, 0, 40);
    await waitFor(() => first.app.agents[0]!.stats().settled === 40);
    await waitFor(() => first.totals.stats().partitions.every((p) => p.pendingWrites === 0));
    await first.transport.crash(); // kill -9, as far as the broker can tell
    await first.app.stop(); // lets go of the LMDB environment (a new process would open it afresh)

    const second = worker(broker, dir, 1);
    await second.app.start();
    send(broker, 40, 60);
    await waitForCommitted(second.app);
    for (const [user, total] of expectedTotals(60)) expect(second.totals.get(user)).to.equal(total);
    // The store held every acknowledged change: the restore had nothing to replay (a memory store
    // replays the whole changelog).
    const restored = second.totals.stats().partitions;
    expect(restored.map((p) => p.toRead)).to.deep.equal([0, 0, 0]);
    expect(second.totals.stats().store).to.match(/^lmdb /);
    await second.app.stop();
  });
});
