import { expect } from 'chai';
import {
  MemoryBroker,
  MemoryTransport,
  appMetrics,
  createApp,
  json,
  silentLogger,
  updateTable,
  type App,
  type Table,
  type TableStore,
} from '../../../lib/index.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { partitionForKey } from '../../../lib/transports/partitioner.js';
import { type WorkerServer, serveWorker } from '../../../lib/cli/worker-server.js';
import { GatedTableStore } from '../../support/gated-table-store.js';

interface Order {
  readonly user: string;
  readonly qty: number;
}

interface Worker {
  readonly app: App;
  readonly totals: Table<string, number, number>;
  readonly server: WorkerServer;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

async function worker(broker: MemoryBroker, store?: () => TableStore): Promise<Worker> {
  const app = createApp({ id: 'shop', transport: new MemoryTransport(broker), logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 3 });
  const totals = app.table<number>('totals', { default: () => 0, ...(store ? { store } : {}) });
  app.agent('total', orders, (order$) => order$.pipe(updateTable(totals, (sum, m) => sum + m.value.qty)), {
    commitIntervalMs: 1,
    stallTimeoutMs: 0,
  });
  const metrics = appMetrics(app);
  const server = await serveWorker(app, metrics, {
    port: 0,
    host: '127.0.0.1',
    live: { intervalMs: 60_000 },
  });
  app.onStop(async () => {
    metrics.close();
    await server.close();
  });
  return {
    app,
    totals,
    server,
    async get(path) {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      expect(response.headers.get('content-type')).to.equal('application/json');
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };
}

function send(broker: MemoryBroker, users: readonly string[]): void {
  broker.produce(
    users.map((user, i) => ({
      topic: 'orders',
      key: Buffer.from(user),
      value: Buffer.from(JSON.stringify({ user, qty: i + 1 })),
    })),
  );
}

const USERS = Array.from({ length: 12 }, (_, i) => `user ${i}/é`);

describe('GET /tables on the worker server', () => {
  let workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.app.stop()));
    workers = [];
  });

  it('answers a key it owns with its value, and for a key of another worker the partition that owns it', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const a = await worker(broker);
    const b = await worker(broker);
    workers = [a, b];
    await a.app.start();
    await b.app.start();
    await waitFor(() => a.totals.ownedPartitions().length + b.totals.ownedPartitions().length === 3);
    await waitFor(() => a.totals.stats().state === 'ready' && b.totals.stats().state === 'ready');
    expect(a.totals.ownedPartitions()).to.not.be.empty;
    expect(b.totals.ownedPartitions()).to.not.be.empty;
    send(broker, USERS);
    await waitForCommitted(a.app);
    await waitForCommitted(b.app);

    for (const [i, user] of USERS.entries()) {
      const partition = partitionForKey(Buffer.from(user), 3);
      const [owner, other] = a.totals.ownsKey(user) ? [a, b] : [b, a];
      const path = `/tables/totals/${encodeURIComponent(user)}`;
      expect(await owner.get(path)).to.deep.equal({
        status: 200,
        body: { table: 'totals', key: user, partition, value: i + 1 },
      });
      expect(await other.get(path)).to.deep.equal({
        status: 421,
        body: { table: 'totals', key: user, partition, owned: false },
      });
    }
    // a key never written reads as the default
    const fresh = (await a.get('/tables/totals/nobody')).status === 200 ? a : b;
    expect((await fresh.get('/tables/totals/nobody')).body).to.include({ value: 0 });
  });

  it('pages the keys of every owned partition, and of one partition after a key', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const a = await worker(broker);
    workers = [a];
    await a.app.start();
    send(broker, USERS);
    await waitForCommitted(a.app);

    const all = await a.get('/tables/totals');
    expect(all.status).to.equal(200);
    const pages = all.body.partitions as { partition: number; keys: string[]; next?: string }[];
    expect(pages.map((p) => p.partition)).to.deep.equal([0, 1, 2]);
    expect(pages.flatMap((p) => p.keys).sort()).to.deep.equal([...USERS].sort());
    for (const page of pages) {
      expect(page.keys.length).to.equal(a.totals.stats().partitions[page.partition]!.keys);
      for (const key of page.keys) expect(partitionForKey(Buffer.from(key), 3)).to.equal(page.partition);
    }

    const busy = pages.reduce((x, y) => (y.keys.length > x.keys.length ? y : x));
    expect(busy.keys.length).to.be.at.least(3);
    const walked: string[] = [];
    let next: string | undefined;
    do {
      const query = `partition=${busy.partition}&limit=2${next !== undefined ? `&after=${encodeURIComponent(next)}` : ''}`;
      const { status, body } = await a.get(`/tables/totals?${query}`);
      expect(status).to.equal(200);
      const [page] = body.partitions as { partition: number; keys: string[]; next?: string }[];
      expect(page!.keys.length).to.be.at.most(2);
      walked.push(...page!.keys);
      next = page!.next;
    } while (next !== undefined);
    expect(walked).to.deep.equal(busy.keys);
  });

  it('says 503 with the restore progress while the partition recovers, then answers', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const user = USERS[0]!;
    const partition = partitionForKey(Buffer.from(user), 3);
    broker.produce([
      { topic: 'shop-totals-changelog', partition, key: Buffer.from(user), value: Buffer.from('41') },
      { topic: 'shop-totals-changelog', partition, key: Buffer.from(user), value: Buffer.from('42') },
    ]);
    const store = new GatedTableStore();
    const a = await worker(broker, () => store);
    workers = [a];
    await a.app.start();
    await waitFor(() => a.totals.stats().partitions.some((p) => p.partition === partition && p.toRead === 2));

    const recovering = await a.get(`/tables/totals/${encodeURIComponent(user)}`);
    expect(recovering.status).to.equal(503);
    expect(recovering.body).to.include({
      table: 'totals',
      key: user,
      partition,
      recovering: true,
      toRead: 2,
    });
    const page = await a.get(`/tables/totals?partition=${partition}`);
    expect(page.body.partitions).to.deep.equal([{ partition, recovering: true, read: 0, toRead: 2 }]);

    store.release();
    await waitFor(() => a.totals.stats().state === 'ready');
    expect(await a.get(`/tables/totals/${encodeURIComponent(user)}`)).to.deep.include({
      status: 200,
      body: { table: 'totals', key: user, partition, value: 42 },
    });
  });

  it('answers 404 for an unknown table, 421 for a partition not owned and 400 for a bad page request', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    const a = await worker(broker);
    workers = [a];
    await a.app.start();
    await waitFor(() => a.totals.stats().state === 'ready');

    expect(await a.get('/tables/nope/x')).to.deep.equal({
      status: 404,
      body: { table: 'nope', error: 'no table nope', tables: ['totals'] },
    });
    expect((await a.get('/tables/nope')).status).to.equal(404);
    expect(await a.get('/tables/totals?partition=7')).to.deep.equal({
      status: 421,
      body: { table: 'totals', partition: 7, owned: false, ownedPartitions: [0, 1, 2] },
    });
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'partition=-1', 'partition=1.5', 'after=u1']) {
      const { status, body } = await a.get(`/tables/totals?${query}`);
      expect(status, query).to.equal(400);
      expect(body.error, query).to.be.a('string');
    }
    expect((await a.get('/tables/totals/%E0%A4%A')).status).to.equal(400);
  });
});
