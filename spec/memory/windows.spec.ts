import { expect } from 'chai';
import { tap } from 'rxjs';
import {
  DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  RivuletError,
  SinkError,
  WINDOW_DEAD_LETTER_HEADERS,
  WindowResultFailedError,
  aggregateWindows,
  count,
  createApp,
  json,
  silentLogger,
  sink,
  tumbling,
  type ErrorPolicy,
  type WindowResult,
  type WindowTableOptions,
} from '../../lib/index.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { heldChangelog } from '../support/held-changelog.js';

interface Order {
  readonly symbol: string;
  readonly at: number;
}

/** The value of a sample line `name{labels} value` in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string | number>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${rendered}} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

function orderVolume(
  broker: MemoryBroker,
  results: WindowResult<string, number>[],
  options: Partial<WindowTableOptions<Order, number>> = {},
) {
  const app = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
  const orders = app.topic<Order>('orders', { value: json(), partitions: 2 });
  const perSecond = app.windowTable<Order, number>('per-second', {
    window: tumbling(1000),
    aggregate: count(),
    idleAfterMs: 100,
    ...options,
  });
  app.agent(
    'volume',
    orders,
    (order$) =>
      order$.pipe(
        aggregateWindows(perSecond, { time: (m) => m.value.at }),
        tap((m) => results.push(m.value)),
      ),
    { errors: { retries: 0 } },
  );
  return { app, orders, perSecond };
}

describe('windows on memory:// (an agent)', () => {
  it('closes every window when the partitions go idle, with exact counts; a late record is dead-lettered; metrics show it', async () => {
    const broker = new MemoryBroker();
    const results: WindowResult<string, number>[] = [];
    const { app, orders, perSecond } = orderVolume(broker, results);
    const metrics = appMetrics(app);
    await app.start();
    const base = Math.floor(Date.now() / 1000) * 1000 - 10_000; // seconds ago: live data
    const expected = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const symbol = ['ACME', 'INIT', 'TECH'][i % 3]!;
      const at = base + Math.floor(i / 43) * 1000 + (i % 13); // in order: 7 seconds
      const id = `${symbol}@${Math.floor(at / 1000) * 1000}`;
      expected.set(id, (expected.get(id) ?? 0) + 1);
      await orders.send({ symbol, at }, { key: symbol });
    }
    await waitFor(() => results.length >= expected.size, { timeoutMs: 10_000 });
    await waitForCommitted(app);
    const got = new Map(results.map((r) => [`${r.key}@${r.start}`, r.value]));
    expect(got).to.deep.equal(expected);
    expect(results.every((r) => r.final && r.end === r.start + 1000)).to.equal(true);
    // The windows' state is gone once their results settled.
    await waitFor(() => perSecond.stats().pending === 0 && perSecond.get('ACME').length === 0, {
      timeoutMs: 5000,
    });

    await orders.send({ symbol: 'ACME', at: base }, { key: 'ACME' }); // its window closed long ago
    await waitForCommitted(app);
    const partition = perSecond.table.partitionOf('ACME')!;
    const dead = broker.read('orders.dlq', 0, 0, 10);
    expect(dead).to.have.length(1);
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.errorName]).to.equal('LateRecordError');
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.partition]).to.equal(String(partition));
    expect(results).to.have.length(expected.size); // no window reopened
    const text = await metrics.metrics();
    expect(
      sample(text, 'rivulet_window_late_records_total', { table: 'per-second', outcome: 'dead_lettered' }),
    ).to.equal(1);
    expect(
      sample(text, 'rivulet_window_results_total', { table: 'per-second', outcome: 'settled' }),
    ).to.equal(expected.size);
    expect(sample(text, 'rivulet_window_results_pending', { table: 'per-second' })).to.equal(0);
    expect(
      sample(text, 'rivulet_window_watermark_seconds', { table: 'per-second', partition }),
    ).to.be.greaterThan(base / 1000 + 6);
    metrics.close();
    await app.stop();
  });

  it('a partition handed to another worker leaves this one: its watermark is no longer shown here', async () => {
    const broker = new MemoryBroker();
    const a = orderVolume(broker, []);
    await a.app.start();
    const b = orderVolume(broker, []);
    try {
      const start = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
      for (const symbol of ['ACME', 'INIT', 'TECH', 'BETA', 'GAMA', 'DELT'])
        await a.orders.send({ symbol, at: start }, { key: symbol });
      await waitFor(() => Object.keys(a.perSecond.stats().watermarks).length === 2, { timeoutMs: 5000 });
      await b.app.start(); // the group rebalances: one partition each
      await waitFor(() => Object.keys(a.perSecond.stats().watermarks).length === 1, { timeoutMs: 5000 });
    } finally {
      await b.app.stop();
      await a.app.stop();
    }
  });

  it('with standbys, a worker keeps a copy of the windows of the partition another worker owns', async () => {
    const broker = new MemoryBroker();
    const a = orderVolume(broker, [], { standbys: 1, standbyPollMs: 10 });
    await a.app.start();
    const b = orderVolume(broker, [], { standbys: 1, standbyPollMs: 10 });
    try {
      await b.app.start(); // the group rebalances: one partition each
      await waitFor(() => a.perSecond.table.ownedPartitions().length === 1, { timeoutMs: 5000 });
      await waitFor(() => (a.perSecond.table.stats().standbys ?? []).length === 1, { timeoutMs: 5000 });
    } finally {
      await b.app.stop();
      await a.app.stop();
    }
  });

  it('a worker stopped with windows open closes them after a restart, from the changelog alone', async () => {
    const broker = new MemoryBroker();
    const first: WindowResult<string, number>[] = [];
    const one = orderVolume(broker, first);
    await one.app.start();
    const start = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // an hour ahead: no idle close yet
    for (let i = 0; i < 20; i++) await one.orders.send({ symbol: 'ACME', at: start + i }, { key: 'ACME' });
    await waitForCommitted(one.app);
    expect(first).to.deep.equal([]);
    expect(one.perSecond.get('ACME')).to.deep.equal([{ start, end: start + 1000, value: 20 }]);
    await one.app.stop();

    const second: WindowResult<string, number>[] = [];
    const two = orderVolume(broker, second);
    await two.app.start();
    // Nothing is redelivered (all committed): the window comes back from the changelog, and the next
    // record, a second later in event time, closes it.
    await two.orders.send({ symbol: 'ACME', at: start + 1000 }, { key: 'ACME' });
    await waitFor(() => second.length === 1, { timeoutMs: 10_000 });
    expect(second[0]).to.deep.include({ key: 'ACME', start, end: start + 1000, value: 20, final: true });
    await two.app.stop();
  });
});

class Refused extends RivuletError {
  override readonly retriable = false;
}

describe('final window results under the error policy (memory://)', () => {
  function app(
    broker: MemoryBroker,
    write: (results: WindowResult<string, number>[]) => Promise<void>,
    errors: ErrorPolicy = {},
  ) {
    const made = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = made.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = made.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
    });
    made.agent(
      'volume',
      orders,
      (order$) =>
        order$.pipe(
          aggregateWindows(perSecond, { time: (m) => m.value.at }),
          sink<WindowResult<string, number>, string>((batch) => write(batch.map((m) => m.value)), {
            name: 'results',
            retry: { retries: 0 },
          }),
        ),
      { errors: { retries: 1, backoff: { initialDelayMs: 5, maxDelayMs: 40 }, ...errors } },
    );
    return { app: made, orders, perSecond };
  }

  it('a result refused for good is dead-lettered as JSON with its window in headers, and its window deleted', async () => {
    const broker = new MemoryBroker();
    const written: WindowResult<string, number>[] = [];
    const {
      app: made,
      orders,
      perSecond,
    } = app(broker, async (results) => {
      if (results.some((r) => r.key === 'BAD')) throw new Refused('no such symbol');
      written.push(...results);
    });
    await made.start();
    const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // closed by records, not by the clock
    for (const symbol of ['BAD', 'BAD', 'OK']) await orders.send({ symbol, at: t }, { key: symbol });
    await orders.send({ symbol: 'OK', at: t + 1000 }, { key: 'OK' }); // closes [t, t + 1000)
    await waitFor(() => perSecond.stats().resultsDeadLettered === 1 && written.length === 1, {
      timeoutMs: 5000,
    });
    const [dead] = broker.read('orders.dlq', 0, 0, 10);
    expect(JSON.parse(dead!.value!.toString())).to.deep.equal({
      key: 'BAD',
      start: t,
      end: t + 1000,
      value: 2,
    });
    expect(dead!.key!.toString()).to.equal('BAD');
    expect(dead!.headers).to.include({
      [DEAD_LETTER_HEADERS.errorName]: 'SinkError',
      [WINDOW_DEAD_LETTER_HEADERS.table]: 'per-second',
      [WINDOW_DEAD_LETTER_HEADERS.start]: String(t),
      [WINDOW_DEAD_LETTER_HEADERS.end]: String(t + 1000),
    });
    expect(written).to.deep.equal([{ key: 'OK', start: t, end: t + 1000, value: 1, final: true }]);
    await waitFor(() => perSecond.get('BAD').length === 0 && perSecond.stats().pending === 0);
    await made.stop();
  });

  it("with onFailure: 'stop', a result refused for good fails the agent; the next run writes it from the window kept", async () => {
    const broker = new MemoryBroker();
    let refuse = true;
    const written: WindowResult<string, number>[] = [];
    const write = async (results: WindowResult<string, number>[]): Promise<void> => {
      if (refuse) throw new Refused('no such symbol');
      written.push(...results);
    };
    const first = app(broker, write, { onFailure: 'stop' });
    await first.app.start();
    const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
    await first.orders.send({ symbol: 'ACME', at: t }, { key: 'ACME' });
    await first.orders.send({ symbol: 'ACME', at: t + 1500 }, { key: 'ACME' }); // closes [t, t + 1000)
    const agent = first.app.agents[0]!;
    await waitFor(() => agent.failure !== undefined, { timeoutMs: 5000 });
    const cause = agent.failure!.cause as WindowResultFailedError;
    expect(cause).to.be.instanceOf(WindowResultFailedError);
    expect(cause).to.include({ table: 'per-second', start: t, end: t + 1000 });
    expect(cause.cause).to.be.instanceOf(SinkError);
    expect(broker.endOffset('orders.dlq', 0), 'nothing dead-lettered').to.equal(0);
    await first.app.stop();

    refuse = false;
    const second = app(broker, write, { onFailure: 'stop' });
    await second.app.start();
    await waitFor(() => written.length === 1, { timeoutMs: 5000 });
    expect(written[0]).to.deep.include({ key: 'ACME', start: t, end: t + 1000, value: 1 });
    await waitFor(() => second.perSecond.stats().pending === 0 && second.perSecond.get('ACME').length === 1);
    await second.app.stop();
  });

  it('while the sink is down, results wait (nothing dead-lettered, windows kept) and are written once it is back', async () => {
    const broker = new MemoryBroker();
    let down = true;
    const written: WindowResult<string, number>[] = [];
    const {
      app: made,
      orders,
      perSecond,
    } = app(broker, async (results) => {
      if (down) throw new Error('connect ECONNREFUSED');
      written.push(...results);
    });
    await made.start();
    const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
    await orders.send({ symbol: 'ACME', at: t }, { key: 'ACME' });
    await orders.send({ symbol: 'ACME', at: t + 1500 }, { key: 'ACME' }); // closes [t, t + 1000)
    // retried well past the agent's budget (1 retry): an outage, not bad input
    await waitFor(() => perSecond.stats().emitted >= 5, { timeoutMs: 5000 });
    expect(perSecond.stats()).to.include({ resultsDeadLettered: 0, pending: 1 });
    expect(perSecond.get('ACME').map((w) => w.start)).to.deep.equal([t, t + 1000]);
    expect(broker.endOffset('orders.dlq', 0)).to.equal(0);
    down = false;
    await waitFor(() => written.length === 1, { timeoutMs: 5000 });
    expect(written[0]).to.deep.include({ key: 'ACME', start: t, value: 1 });
    await waitFor(() => perSecond.get('ACME').length === 1 && perSecond.stats().pending === 0);
    await made.stop();
  });

  it("a closed window's removal lingers for the record cache's next flush: with the key's next change, it makes one changelog record", async () => {
    const broker = new MemoryBroker();
    const made = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = made.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = made.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
      idleAfterMs: 3_600_000,
    });
    const results: WindowResult<string, number>[] = [];
    made.agent(
      'volume',
      orders,
      (order$) =>
        order$.pipe(
          aggregateWindows(perSecond, { time: (m) => m.value.at }),
          tap((m) => results.push(m.value)),
        ),
      { commitIntervalMs: 1000 }, // changes that may linger wait up to a second for the next flush
    );
    await made.start();
    try {
      const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // closed by records, not by the clock
      await orders.send({ symbol: 'ACME', at: t }, { key: 'ACME' });
      await orders.send({ symbol: 'ACME', at: t + 1000 }, { key: 'ACME' }); // closes [t, t + 1000)
      await waitFor(() => results.length === 1, { timeoutMs: 5000 });
      // the result settled: its window's removal is made, and waits for the next flush
      await waitFor(() => perSecond.get('ACME').length === 1);
      await orders.send({ symbol: 'ACME', at: t + 1001 }, { key: 'ACME' });
      await waitFor(() => perSecond.get('ACME')[0]?.value === 2);
      await waitForCommitted(made); // its change is durable
      const windowsWritten = broker
        .read(perSecond.changelogTopic, 0, 0, 100)
        .map((record) => (JSON.parse(record.value!.toString()) as { w: unknown[] }).w);
      // the removal alone (the next window with one record) never reached the changelog
      expect(windowsWritten).to.not.deep.include([[t + 1000, t + 2000, 1]]);
      expect(windowsWritten.at(-1)).to.deep.equal([[t + 1000, t + 2000, 2]]);
    } finally {
      await made.stop(); // a failed expectation leaves nothing running
    }
  });

  it("a graceful stop writes a closed window's lingering removal: restarted, the app does not emit its result again", async () => {
    const broker = new MemoryBroker();
    const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // closed by records, not by the clock
    const start = async (results: string[]) => {
      const made = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
      const orders = made.topic<Order>('orders', { value: json(), partitions: 1 });
      const perSecond = made.windowTable<Order, number>('per-second', {
        window: tumbling(1000),
        aggregate: count(),
        idleAfterMs: 3_600_000,
      });
      made.agent(
        'volume',
        orders,
        (order$) =>
          order$.pipe(
            aggregateWindows(perSecond, { time: (m) => m.value.at }),
            tap((m) => results.push(`${m.value.start - t}:${m.value.value}`)),
          ),
        { commitIntervalMs: 1000 }, // the removal may linger up to a second
      );
      await made.start();
      return { made, orders, perSecond };
    };
    const first: string[] = [];
    const one = await start(first);
    try {
      await one.orders.send({ symbol: 'ACME', at: t }, { key: 'ACME' });
      await one.orders.send({ symbol: 'ACME', at: t + 1000 }, { key: 'ACME' }); // closes [t, t + 1000)
      await waitFor(() => first.length === 1 && one.perSecond.get('ACME').length === 1);
    } finally {
      await one.made.stop(); // the removal is made and lingering: the stop writes it
    }
    expect(first).to.deep.equal(['0:1']);
    const second: string[] = [];
    const two = await start(second);
    try {
      await two.orders.send({ symbol: 'ACME', at: t + 1001 }, { key: 'ACME' });
      // restored (a closed window left in the state would have been emitted then), and the record applied
      await waitFor(() => two.perSecond.get('ACME')[0]?.value === 2);
      expect(second).to.deep.equal([]);
    } finally {
      await two.made.stop();
    }
  });

  it('a change acknowledged after its partition moved away closes nothing of that partition', async () => {
    const broker = new MemoryBroker();
    const held = heldChangelog(new MemoryTransport(broker));
    const made = createApp({ id: 'volume', transport: held.transport, logger: silentLogger });
    const orders = made.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = made.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
      idleAfterMs: 3_600_000,
    });
    const results: string[] = [];
    made.agent(
      'volume',
      orders,
      (order$) =>
        order$.pipe(
          aggregateWindows(perSecond, { time: (m) => m.value.at }),
          tap((m) => results.push(`${m.value.key}@${m.value.start - t}`)),
        ),
      { commitIntervalMs: 1 },
    );
    const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // closed by records, not by the clock
    await made.start();
    try {
      await orders.send({ symbol: 'ACME', at: t }, { key: 'ACME' });
      await waitForCommitted(made);
      held.hold();
      await orders.send({ symbol: 'ACME', at: t + 1000 }, { key: 'ACME' }); // would close [t, t + 1000)
      await waitFor(() => held.waiting() > 0);
      perSecond.revoked([0]); // as a rebalance would, while the change is in flight
      held.release();
      await waitForCommitted(made);
      // the partition is set up again from the table: the next record's watermark closes both windows, once
      await orders.send({ symbol: 'INIT', at: t + 2000 }, { key: 'INIT' });
      await waitFor(() => results.length >= 2, { timeoutMs: 5000 });
      await waitForCommitted(made);
      expect(results).to.deep.equal(['ACME@0', 'ACME@1000']);
    } finally {
      await made.stop(); // a failed expectation leaves nothing running
    }
  });

  it('a record settles at once (the record cache), but its offset commits only once its change is in the changelog', async () => {
    const broker = new MemoryBroker();
    const held = heldChangelog(new MemoryTransport(broker), true);
    const made = createApp({ id: 'volume', transport: held.transport, logger: silentLogger });
    const orders = made.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = made.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
    });
    made.agent(
      'volume',
      orders,
      (order$) => order$.pipe(aggregateWindows(perSecond, { time: (m) => m.value.at })),
      { commitIntervalMs: 1 },
    );
    await made.start();
    await orders.send({ symbol: 'ACME', at: Date.now() + 3_600_000 }, { key: 'ACME' });
    // settled and out of maxInFlight while its change waits for the broker
    await waitFor(() => made.agents[0]!.stats().settled === 1 && held.waiting() > 0);
    expect(made.agents[0]!.stats().inFlight).to.equal(0);
    expect(perSecond.get('ACME').map((w) => w.value)).to.deep.equal([1]);
    expect(made.agents[0]!.stats().partitions[0]!.committable).to.equal(0);
    expect(made.agents[0]!.stats().partitions[0]!.committed).to.be.at.most(0);
    held.release();
    await waitForCommitted(made);
    expect(broker.committedOffsets('volume.volume', 'orders')).to.deep.equal([
      { topic: 'orders', partition: 0, offset: 1 },
    ]);
    await made.stop();
  });
});
