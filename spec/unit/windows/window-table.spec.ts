import { expect } from 'chai';
import { type Observable, defer, delay, map, mergeMap, of, tap } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  MemoryBroker,
  MemoryTableStore,
  MemoryTransport,
  aggregateWindows,
  count,
  createApp,
  json,
  silentLogger,
  sliding,
  tumbling,
  type Message,
  type StoreChange,
  type TopicSpec,
  type WindowResult,
  type WindowTable,
  type WindowTableOptions,
} from '../../../lib/index.js';
import {
  type PipelineRun,
  testMessage,
  testPipeline,
  waitFor,
  waitForCommitted,
} from '../../../lib/testing/index.js';
import { WATERMARK_HEADER } from '../../../lib/windows/watermark-header.js';
import { EventTimePartition } from '../../../lib/windows/window-partition.js';
import { delegateTransport } from '../../support/delegate.js';
import { GatedTableStore } from '../../support/gated-table-store.js';
import { marbles } from '../../support/marbles.js';

type In = Message<string, string>;
type Out = Message<WindowResult<string, number>, string>;

const NEVER_IDLE = 1e9;

/** A record at event time `t` (its timestamp) for `key`, at `offset` of `partition`. */
const at = (t: number, offset: number, key = 'k', partition = 0): In =>
  testMessage<string, string>(`v${offset}`, { key, offset, partition, timestamp: t });

const show = (r: WindowResult<string, number>): string => `${r.key} ${r.start}-${r.end}:${r.value}`;

function windows(
  options: Partial<WindowTableOptions<string, number>> = {},
): WindowTable<string, string, number> {
  const app = createApp({ id: 'unit', logger: silentLogger });
  return app.windowTable<string, number>('w', { window: tumbling(10), aggregate: count(), ...options });
}

function run(
  table: WindowTable<string, string, number>,
  input: Observable<In>,
  scheduler: TestScheduler,
  slowMs = 0,
): PipelineRun<Out> {
  return testPipeline(
    (m$: Observable<In>) =>
      m$.pipe(
        aggregateWindows(table, { scheduler }),
        mergeMap((m) => (slowMs > 0 ? of(m).pipe(delay(slowMs, scheduler)) : of(m))),
      ),
    input,
  );
}

const shown = (output: Observable<Out>) => output.pipe(map((m) => show(m.value)));

describe('WindowTable', () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbles()));

  it('names its changelog <app id>-<name>-changelog and its watermark header; late records go to the dead-letter topic by default', () => {
    const table = windows();
    expect(table.changelogTopic).to.equal('unit-w-changelog');
    expect(table.late).to.equal('dead-letter');
    // changelogs written so far carry the watermark under this name: a restore reads it back
    expect(WATERMARK_HEADER).to.equal('rivulet-watermark');
  });

  describe('partitions and subscriptions', () => {
    it('a partition moved away forgets its watermark and timers: nothing of it closes here any more', () => {
      const table = windows({ idleAfterMs: 5 });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('-a', { a: at(1, 0) }), scheduler);
        expectObservable(shown(r.output), '^ 50ms !').toBe('');
        scheduler.schedule(() => {
          expect(table.stats().watermarks).to.deep.equal({ 0: 1 });
          table.revoked([0]);
          expect(table.stats().watermarks).to.deep.equal({});
        }, 3);
      });
    });

    it('a new subscription closes by the wall clock what the previous one left open', () => {
      const table = windows({ idleAfterMs: 5 });
      scheduler.run(({ cold, expectObservable }) => {
        const first = run(table, cold('-a', { a: at(1, 0) }), scheduler);
        expectObservable(shown(first.output), '^ 3ms !').toBe('');
        const second = run(table, cold('-'), scheduler);
        expectObservable(shown(second.output), '6ms ^ 30ms !').toBe('10ms x', { x: 'k 0-10:1' });
      });
    });

    it('a subscription that ends after a newer one started leaves the newer one bound', () => {
      const table = windows({ idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const older = run(table, cold('a', { a: at(1, 0) }), scheduler);
        expectObservable(shown(older.output), '^ 5ms !').toBe('');
        const newer = run(table, cold('-- 5ms b', { b: at(12, 1) }), scheduler);
        expectObservable(shown(newer.output), '2ms ^ 20ms !').toBe('9ms x', { x: 'k 0-10:1' });
      });
    });

    it('several subscriptions at once (one per group under groupBy): results go to the first running, and to another once it ends', () => {
      const table = windows({ idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        // the first subscription's results take 5 ms to settle; it ends at 13, its result still in flight
        const older = run(table, cold('a 9ms b', { a: at(1, 0), b: at(12, 1) }), scheduler, 5);
        expectObservable(older.settled, '^ 12ms !').toBe('a 9ms b', { a: 0, b: 1 });
        expectObservable(shown(older.output), '^ 12ms !').toBe('');
        // a second one, subscribed meanwhile, takes nothing away from it: its result comes once
        const newer = run(table, cold('-'), scheduler);
        expectObservable(shown(newer.output), '2ms ^ 20ms !').toBe('13ms x', { x: 'k 0-10:1' });
        scheduler.schedule(() => expect(table.stats()).to.deep.include({ pending: 1, emitted: 1 }), 11);
        scheduler.schedule(() => expect(table.stats()).to.deep.include({ pending: 0, emitted: 2 }), 14);
      });
    });

    it('under test, records of any partition go to the one local partition', () => {
      const table = windows({ idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('ab|', { a: at(1, 0, 'k', 2), b: at(12, 0, 'k', 3) }), scheduler);
        expectObservable(shown(r.output)).toBe('-x|', { x: 'k 0-10:1' });
        expectObservable(r.failed).toBe('--|');
      });
      expect(table.stats().watermarks).to.deep.equal({ 0: 12 });
    });
  });

  describe('closing and expiring', () => {
    it('a sliding key whose windows all closed drops its events one by one as they expire, then is deleted', () => {
      const table = windows({ window: sliding(10), idleAfterMs: NEVER_IDLE });
      const states: unknown[] = [];
      scheduler.run(({ cold }) => {
        // z's records move the watermark: 3, 8, 10, 11, 18
        const input = cold('abcdef', {
          a: at(1, 0, 'k'),
          b: at(3, 1, 'z'), // k's [-8, 2) closes; k keeps its event at 1 (expires at 11)
          c: at(8, 2, 'k'), // k's [-1, 9) holds 1 and 8
          d: at(10, 3, 'z'), // [-1, 9) closes: both events are kept (they expire at 11 and 18)
          e: at(11, 4, 'z'), // the event at 1 expires
          f: at(18, 5, 'z'), // so does the one at 8: k is deleted
        });
        run(table, input, scheduler).output.subscribe();
        for (const frame of [3, 4, 5]) scheduler.schedule(() => states.push(table.table.get('k')), frame);
      });
      expect(states).to.deep.equal([
        {
          w: [],
          ev: [
            [1, null],
            [8, null],
          ],
        },
        { w: [], ev: [[8, null]] },
        undefined,
      ]);
    });

    it('closed by the wall clock exactly at its end, a window whose result settles late is closed once, the watermark written once', async () => {
      const writes: number[] = [];
      const app = createApp({ id: 'unit', logger: silentLogger });
      const table = app.windowTable<string, number>('w', {
        window: tumbling(10),
        aggregate: count(),
        idleAfterMs: 1,
        store: () => new CountingStore(writes),
      });
      scheduler.run(({ cold, expectObservable }) => {
        // the idle watermark reaches 10 at 10 (the record at 1 had event time 1)
        const r = run(table, cold('-a', { a: at(1, 0) }), scheduler, 20);
        expectObservable(shown(r.output), '^ 100ms !').toBe('30ms x', { x: 'k 0-10:1' });
      });
      await new Promise((resolve) => setImmediate(resolve)); // the store is written after the acknowledgement
      expect(writes).to.deep.equal([1, 1, 1]); // the record, the watermark, the tombstone
    });
  });
});

/** A memory store that notes how many changes each write to it carries. */
class CountingStore extends MemoryTableStore {
  constructor(private readonly writes: number[]) {
    super();
  }

  override apply(partition: number, changes: readonly StoreChange[], offset: number): Promise<void> {
    this.writes.push(changes.length);
    return super.apply(partition, changes, offset);
  }
}

interface Order {
  readonly symbol: string;
  readonly at: number;
}

describe('WindowTable on memory:// (an agent)', () => {
  it('writes each change to a compacted changelog kept size + grace + margin, with the watermark after it; closes an idle partition that caught up with what it read, with no commit', async () => {
    const broker = new MemoryBroker();
    const inner = new MemoryTransport(broker);
    const topics: TopicSpec[] = [];
    const transport = delegateTransport(inner, {
      ensureTopics: (specs) => {
        topics.push(...specs);
        return inner.ensureTopics(specs);
      },
    });
    const writes: number[] = [];
    const app = createApp({ id: 'volume', transport, logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 2 });
    const perSecond = app.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
      graceMs: 100,
      idleAfterMs: 20,
      retentionMarginMs: 5000,
      replicationFactor: 1,
      store: () => new CountingStore(writes),
    });
    const results: WindowResult<string, number>[] = [];
    app.agent(
      'volume',
      orders,
      (order$) =>
        order$.pipe(
          aggregateWindows(perSecond, { time: (m) => m.value.at }),
          tap((m) => results.push(m.value)),
        ),
      { commitIntervalMs: 60_000 }, // nothing committed: caught up by what reached the operator
    );
    await app.start();
    const base = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    await orders.send({ symbol: 'ACME', at: base + 998 }, { key: 'ACME' });
    await orders.send({ symbol: 'ACME', at: base + 999 }, { key: 'ACME' });
    await waitFor(() => results.length === 1 && perSecond.stats().pending === 0, { timeoutMs: 3000 });
    expect(results).to.deep.equal([{ key: 'ACME', start: base, end: base + 1000, value: 2, final: true }]);

    const partition = perSecond.table.partitionOf('ACME')!;
    const changelog = broker.read(perSecond.changelogTopic, partition, 0, 100);
    const values = changelog.map((r) => (r.value === null ? null : JSON.parse(r.value.toString())));
    const marks = changelog.map((r) => r.headers[WATERMARK_HEADER]);
    // The record cache: the two changes linger (up to the commit interval, at most 1 s) and the idle
    // watermark's rewrite of the key due first (urgent: windows close by it) flushes them, so the key is
    // usually written once, carrying the idle watermark. Each change written on its own, on a slow
    // machine, is the longer form; either way each record carries the watermark after its change.
    const idle = values.length - 2;
    expect(values.slice(idle)).to.deep.equal([
      { w: [[base, base + 1000, 2]] }, // the idle watermark, with the key due first
      null, // the window deleted once its result settled
    ]);
    expect(idle).to.be.within(0, 2);
    // a change written before the idle flush: n records counted, watermark after the n-th (t - grace)
    changelog.slice(0, idle).forEach((record, i) => {
      const n = (values[i] as { w: [number, number, number][] }).w[0]![2];
      expect(values[i]).to.deep.equal({ w: [[base, base + 1000, n]] });
      expect(n).to.be.greaterThan(i);
      expect(record.headers[WATERMARK_HEADER]).to.equal(String(base + 897 + n));
    });
    expect(Number(marks[idle])).to.be.at.least(base + 1000);
    expect(marks[idle + 1]).to.equal(marks[idle]);
    expect(perSecond.stats().watermarks).to.deep.equal({ [partition]: Number(marks[idle]) });
    expect(writes.length).to.be.greaterThan(0); // the store given is the one used

    const spec = topics.find((t) => t.name === perSecond.changelogTopic);
    expect(spec).to.deep.include({
      replicationFactor: 1,
      config: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(1000 + 100 + 5000) },
    });
    await app.stop();
  });

  it('its changelog replay is reported stalled after its stallTimeoutMs', async () => {
    const broker = new MemoryBroker();
    broker.produce([
      {
        topic: 'volume-per-second-changelog',
        partition: 0,
        key: Buffer.from('ACME'),
        value: Buffer.from(JSON.stringify({ w: [[0, 1000, 1]] })),
      },
    ]);
    const store = new GatedTableStore();
    const app = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = app.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
      stallTimeoutMs: 10,
      store: () => store,
    });
    app.agent('volume', orders, (order$) => order$.pipe(aggregateWindows(perSecond)));
    await app.start();
    await waitFor(() => perSecond.table.stats().stalledMs !== undefined, { timeoutMs: 2000 });
    store.release();
    await waitFor(() => perSecond.table.stats().state === 'ready');
    await app.stop();
  });

  it('a result settled whose window deletion is not durable yet is not emitted again by a restarted pipeline', async () => {
    const broker = new MemoryBroker();
    const inner = new MemoryTransport(broker);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false; // from the first result on: its window's deletion is held
    const transport = delegateTransport(inner, {
      produce: async (records) => {
        if (holding && records.some((r) => r.topic.endsWith('-changelog'))) await held;
        return inner.produce(records);
      },
    });
    const app = createApp({ id: 'volume', transport, logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = app.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
    });
    const results: WindowResult<string, number>[] = [];
    let subscriptions = 0;
    app.agent(
      'volume',
      orders,
      (order$) =>
        defer(() => {
          subscriptions++;
          return order$.pipe(
            map((m) => {
              if (m.value.symbol === 'BOOM') throw new Error('boom'); // the pipeline restarts
              return m;
            }),
            aggregateWindows(perSecond, { time: (m) => m.value.at }),
            tap((m) => {
              results.push(m.value);
              holding = true;
            }),
          );
        }),
      { errors: { retries: 0 } },
    );
    await app.start();
    const t = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // closed by records only
    await orders.send({ symbol: 'ACME', at: t }, { key: 'ACME' });
    await orders.send({ symbol: 'ACME', at: t + 1000 }, { key: 'ACME' });
    await waitFor(() => results.length === 1); // settled: its deletion is held
    expect(perSecond.stats().pending).to.equal(1);
    await orders.send({ symbol: 'BOOM', at: t + 1000 }, { key: 'BOOM' });
    await waitFor(() => subscriptions === 2 && broker.endOffset('orders.dlq', 0) === 1); // restarted
    release();
    await waitFor(() => perSecond.get('ACME').length === 1 && perSecond.stats().pending === 0);
    expect(results).to.deep.equal([{ key: 'ACME', start: t, end: t + 1000, value: 1, final: true }]);
    await app.stop();
  });

  it('windows restored from the changelog (more than a page of keys) close by the wall clock with no record, from the restored watermark', async () => {
    const broker = new MemoryBroker();
    const base = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    const keys = 1001;
    broker.produce(
      Array.from({ length: keys }, (_, i) => ({
        topic: 'volume-per-second-changelog',
        partition: 0,
        key: Buffer.from(`S${i}`),
        value: Buffer.from(JSON.stringify({ w: [[base, base + 1000, i]] })),
        headers: { [WATERMARK_HEADER]: String(base + 999) },
      })),
    );
    const app = createApp({ id: 'volume', transport: new MemoryTransport(broker), logger: silentLogger });
    const orders = app.topic<Order>('orders', { value: json(), partitions: 1 });
    const perSecond = app.windowTable<Order, number>('per-second', {
      window: tumbling(1000),
      aggregate: count(),
      idleAfterMs: 20,
    });
    const results = new Map<string, number>();
    app.agent('volume', orders, (order$) =>
      order$.pipe(
        aggregateWindows(perSecond, { time: (m) => m.value.at }),
        tap((m) => results.set(m.value.key, m.value.value)),
      ),
    );
    await app.start();
    await waitFor(() => results.size === keys, { timeoutMs: 3000 });
    expect([...results].every(([key, value]) => key === `S${value}`)).to.equal(true);
    await app.stop();
  });

  it('a change acknowledged with a watermark already durable looks for no window to close (one look per watermark, not per record)', async () => {
    const looks: number[] = [];
    const takeDue = EventTimePartition.prototype.takeDue;
    EventTimePartition.prototype.takeDue = function (this: EventTimePartition<unknown, unknown>, upTo) {
      looks.push(upTo);
      return takeDue.call(this, upTo);
    };
    const app = createApp({
      id: 'looks',
      transport: new MemoryTransport(new MemoryBroker()),
      logger: silentLogger,
    });
    try {
      const orders = app.topic<Order>('orders', { value: json(), partitions: 1 });
      const perSecond = app.windowTable<Order, number>('per-second', {
        window: tumbling(1000),
        aggregate: count(),
        idleAfterMs: NEVER_IDLE,
      });
      app.agent('volume', orders, (order$) =>
        order$.pipe(aggregateWindows(perSecond, { time: (m) => m.value.at })),
      );
      await app.start();
      const t = Math.floor(Date.now() / 1000) * 1000 - 10_000;
      for (let i = 0; i < 20; i++) await orders.send({ symbol: `S${i}`, at: t }, { key: 'ACME' });
      await waitForCommitted(app, { timeoutMs: 3000 });
      expect(perSecond.get('ACME')).to.deep.equal([{ start: t, end: t + 1000, value: 20 }]);
      // every record carries the watermark t: looked for once it is durable, besides the looks when the
      // partition is set up and served (each record's acknowledgement looking again made 20 more)
      expect(looks.filter((upTo) => upTo === t)).to.have.length(1);
      expect(looks.length).to.be.below(6);
    } finally {
      EventTimePartition.prototype.takeDue = takeDue;
      await app.stop();
    }
  });
});
