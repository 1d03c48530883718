import { expect } from 'chai';
import { bufferTime, filter, map, timer } from 'rxjs';
import {
  AgentFailedError,
  DEAD_LETTER_HEADERS,
  DecodeError,
  MemoryBroker,
  MemoryTransport,
  createApp,
  filterValue,
  json,
  mapValue,
  mergeMapValue,
  sink,
  silentLogger,
  type App,
  type Transport,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { Handled, auditCommits, capturingLogger } from '../support/audit.js';

interface Item {
  readonly id: number;
}

function setup(options: { partitions?: number; transport?: Transport; broker?: MemoryBroker } = {}) {
  const broker = options.broker ?? new MemoryBroker({ defaultPartitions: options.partitions ?? 3 });
  const handled = new Handled();
  const audited = auditCommits(options.transport ?? new MemoryTransport(broker), handled);
  return { broker, handled, ...audited };
}

async function produce(app: App, topicName: string, count: number, first = 0): Promise<void> {
  const topic = app.topic<Item>(topicName, { value: json() });
  await topic.sendMany(
    Array.from({ length: count }, (_, i) => ({ key: `k${first + i}`, value: { id: first + i } })),
  );
}

async function committedTotal(transport: Transport, group: string, topic: string): Promise<number> {
  return (await transport.committedOffsets(group, topic)).reduce((sum, c) => sum + c.offset, 0);
}

describe('processing contract on the in-memory broker', () => {
  it('C1/C2: with 16 concurrent handlers finishing out of order, no commit passes an unhandled offset', async () => {
    const { transport, handled, violations, commits } = setup();
    const app = createApp({ id: 'c2', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() }); // the broker's default: 3 partitions
    const seen = new Set<number>();
    app.agent(
      'work',
      items,
      (item$) =>
        item$.pipe(
          mergeMapValue((item, message) =>
            timer((item.id * 7919) % 5).pipe(
              map(() => {
                seen.add(item.id);
                handled.add(message.topic, message.partition, message.offset);
              }),
            ),
          ),
        ),
      { commitIntervalMs: 1 },
    );
    await app.start();
    await produce(app, 'items', 2000);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    expect(commits.length).to.be.greaterThan(3);
    expect(seen.size).to.equal(2000);
  });

  it('C1: messages dropped by filterValue count as settled and let commits pass', async () => {
    const { transport, handled, violations } = setup({ partitions: 1 });
    const app = createApp({ id: 'c1', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('odd', items, (item$) =>
      item$.pipe(
        filterValue((item, message) => {
          const keep = item.id % 2 === 1;
          if (!keep) handled.add(message.topic, message.partition, message.offset);
          return keep;
        }),
        mapValue((item, message) => handled.add(message.topic, message.partition, message.offset)),
      ),
    );
    await app.start();
    await produce(app, 'items', 101);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    expect(await committedTotal(transport, 'c1.odd', 'items')).to.equal(101);
  });

  it('C3: a batch settles only when the sink accepts it whole; a failed batch settles nothing and is retried', async () => {
    const { transport, handled, violations } = setup({ partitions: 1 });
    const app = createApp({ id: 'c3', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    let failures = 0;
    const written: number[][] = [];
    app.agent(
      'batches',
      items,
      (item$) =>
        item$.pipe(
          bufferTime(5),
          sink<Item, string | null>(
            async (batch) => {
              if (failures < 2 && batch.some((m) => m.value.id === 50)) {
                failures++;
                throw new Error('sink unavailable');
              }
              written.push(batch.map((m) => m.value.id));
              for (const m of batch) handled.add(m.topic, m.partition, m.offset);
            },
            { name: 'flaky', retry: { retries: 0 } },
          ),
        ),
      { errors: { retries: 5, backoff: { initialDelayMs: 5 } } },
    );
    await app.start();
    await produce(app, 'items', 100);
    await waitForCommitted(app);
    await app.stop();
    expect(failures).to.equal(2);
    expect(violations).to.deep.equal([]);
    expect(new Set(written.flat()).size).to.equal(100);
    expect(app.agents[0]!.stats().retried).to.be.greaterThan(0);
  });

  it('C4: after a crash, everything unsettled is delivered again to the next worker', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 2 });
    const handled = new Handled();
    const seen: number[] = [];
    const run = () => {
      const inner = new MemoryTransport(broker);
      const audited = auditCommits(inner, handled);
      const app = createApp({ id: 'c4', transport: audited.transport, logger: silentLogger });
      const items = app.topic<Item>('items', { value: json() });
      app.agent(
        'slow',
        items,
        (item$) =>
          item$.pipe(
            mergeMapValue((item, message) =>
              timer(1).pipe(
                map(() => {
                  seen.push(item.id);
                  handled.add(message.topic, message.partition, message.offset);
                }),
              ),
            ),
          ),
        { maxInFlight: 50, commitIntervalMs: 1 },
      );
      return { app, audited, inner };
    };
    const first = run();
    await first.app.start();
    await produce(first.app, 'items', 1000);
    await waitFor(() => seen.length >= 300);
    await first.inner.crash();
    const before = seen.length;
    const second = run();
    await second.app.start();
    await waitForCommitted(second.app);
    await Promise.all([first.app.stop(), second.app.stop()]);
    expect(new Set(seen).size).to.equal(1000);
    expect(first.audited.violations.concat(second.audited.violations)).to.deep.equal([]);
    expect(before).to.be.lessThan(1000);
  });

  it('C5: in flight stays within the bound under a slow sink, with the partitions paused and resumed', async () => {
    const { transport, handled, violations } = setup({ partitions: 2 });
    const app = createApp({ id: 'c5', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const maxInFlight = 64;
    let peakWindow = 0;
    const agent = app.agent(
      'slow',
      items,
      (item$) =>
        item$.pipe(
          sink<Item, string | null>(
            async (batch) => {
              peakWindow = Math.max(peakWindow, agent.stats().window);
              await new Promise((resolve) => setTimeout(resolve, 1));
              for (const m of batch) handled.add(m.topic, m.partition, m.offset);
            },
            { name: 'slow', maxBatchSize: 8 },
          ),
        ),
      { maxInFlight },
    );
    await app.start();
    await produce(app, 'items', 3000);
    await waitForCommitted(app);
    await app.stop();
    expect(peakWindow).to.be.within(1, maxInFlight);
    expect(agent.stats().pauses).to.be.greaterThan(0);
    expect(agent.stats().settled).to.equal(3000);
    expect(violations).to.deep.equal([]);
  });

  it('C6: stop() lets the writes already started finish, commits them, and leaves the rest for redelivery', async () => {
    const { transport, handled, violations } = setup({ partitions: 2 });
    const written: number[] = [];
    let started = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const start = (): ReturnType<typeof createApp> => {
      const app = createApp({ id: 'c6', transport, logger: silentLogger });
      const items = app.topic<Item>('items', { value: json() });
      app.agent('batched', items, (item$) =>
        item$.pipe(
          sink<Item, string | null>(
            async (batch) => {
              started++;
              await gate;
              for (const m of batch) {
                written.push(m.value.id);
                handled.add(m.topic, m.partition, m.offset);
              }
            },
            { name: 'gated', maxBatchSize: 50 },
          ),
        ),
      );
      return app;
    };
    const first = start();
    await first.start();
    await produce(first, 'items', 500);
    await waitFor(() => first.agents[0]!.stats().received === 500 && started === 1);
    const stopping = first.stop();
    open();
    await stopping;
    // the write under way finished and was committed; the ~500 queued behind it were never started
    expect(started).to.equal(1);
    expect(written.length).to.be.within(1, 50);
    const committed = await committedTotal(transport, 'c6.batched', 'items');
    expect(committed).to.be.within(1, written.length);
    expect(violations).to.deep.equal([]);
    // the next run delivers what the first did not settle: nothing is lost
    const second = start();
    await second.start();
    await waitFor(async () => (await committedTotal(transport, 'c6.batched', 'items')) === 500);
    await second.stop();
    expect(new Set(written).size).to.equal(500);
    expect(violations).to.deep.equal([]);
  });

  it('C7: a failing message is retried with backoff and settles once it succeeds', async () => {
    const { transport } = setup({ partitions: 1 });
    const app = createApp({ id: 'c7r', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const attempts = new Map<number, number>();
    app.agent(
      'flaky',
      items,
      (item$) =>
        item$.pipe(
          mapValue((item) => {
            const n = (attempts.get(item.id) ?? 0) + 1;
            attempts.set(item.id, n);
            if (item.id === 3 && n < 3) throw new Error('transient');
            return item;
          }),
        ),
      { errors: { retries: 3, backoff: { initialDelayMs: 2 } } },
    );
    await app.start();
    await produce(app, 'items', 10);
    await waitForCommitted(app);
    await app.stop();
    expect(attempts.get(3)).to.equal(3);
    expect(app.agents[0]!.stats()).to.include({ retried: 2, deadLettered: 0, settled: 10 });
  });

  it('C7: a message that keeps failing is dead-lettered with the error in its headers, and the agent goes on', async () => {
    const { transport, broker } = setup({ partitions: 1 });
    const app = createApp({ id: 'c7d', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent(
      'poison',
      items,
      (item$) =>
        item$.pipe(
          mapValue((item) => {
            if (item.id === 4) throw new Error(`cannot process ${item.id}`);
            return item;
          }),
        ),
      { errors: { retries: 2, backoff: { initialDelayMs: 1 } } },
    );
    await app.start();
    await produce(app, 'items', 10);
    await waitForCommitted(app);
    await app.stop();
    const dead = broker.read('items.dlq', 0, 0, 10);
    expect(dead).to.have.length(1);
    expect(JSON.parse(dead[0]!.value!.toString())).to.deep.equal({ id: 4 });
    expect(dead[0]!.key!.toString()).to.equal('k4');
    expect(dead[0]!.headers).to.include({
      [DEAD_LETTER_HEADERS.error]: 'cannot process 4',
      [DEAD_LETTER_HEADERS.errorName]: 'Error',
      [DEAD_LETTER_HEADERS.topic]: 'items',
      [DEAD_LETTER_HEADERS.offset]: '4',
      [DEAD_LETTER_HEADERS.attempts]: '3',
      [DEAD_LETTER_HEADERS.agent]: 'poison',
    });
    expect(app.agents[0]!.stats()).to.include({ deadLettered: 1, settled: 10 });
  });

  it("C7: with onFailure 'stop', the app stops with AgentFailedError and commits nothing past the message", async () => {
    const { transport } = setup({ partitions: 1 });
    const logger = capturingLogger();
    const app = createApp({ id: 'c7s', transport, logger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent(
      'strict',
      items,
      (item$) =>
        item$.pipe(
          mapValue((item) => {
            if (item.id === 6) throw new Error('bad order');
            return item;
          }),
        ),
      { errors: { retries: 1, backoff: { initialDelayMs: 1 }, onFailure: 'stop' } },
    );
    await produce(app, 'items', 20);
    const failure = await app.run({ handleSignals: false }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).to.be.instanceOf(AgentFailedError).with.property('position').that.deep.equals({
      topic: 'items',
      partition: 0,
      offset: 6,
    });
    expect(await transport.committedOffsets('c7s.strict', 'items')).to.deep.equal([
      { topic: 'items', partition: 0, offset: 6 },
    ]);
    expect(
      logger.lines.some((line) => line.level === 'error' && /bad order/.test(line.message ?? '')),
    ).to.equal(true);
  });

  it('C8: undecodable bytes are dead-lettered at once (no retry) with a DecodeError, and the agent carries on', async () => {
    const { transport, broker } = setup({ partitions: 1 });
    const app = createApp({ id: 'c8', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const seen: number[] = [];
    app.agent('decode', items, (item$) => item$.pipe(mapValue((item) => seen.push(item.id))));
    await app.start();
    await produce(app, 'items', 2);
    await transport.produce([{ topic: 'items', key: Buffer.from('bad'), value: Buffer.from('{"id": nope') }]);
    await produce(app, 'items', 2, 2);
    await waitForCommitted(app);
    await app.stop();
    expect(seen).to.deep.equal([0, 1, 2, 3]);
    const [dead] = broker.read('items.dlq', 0, 0, 10);
    expect(dead!.value!.toString()).to.equal('{"id": nope');
    expect(dead!.headers[DEAD_LETTER_HEADERS.errorName]).to.equal(DecodeError.name);
    expect(dead!.headers[DEAD_LETTER_HEADERS.error]).to.match(/^Cannot decode the value of items\[0\]@2: /);
    expect(dead!.headers[DEAD_LETTER_HEADERS.attempts]).to.equal('1');
    expect(app.agents[0]!.stats().retried).to.equal(0);
  });

  it('warns, naming topic, partition and offset, when a message is stuck (here: lost in a plain filter)', async () => {
    const { transport } = setup({ partitions: 1 });
    const logger = capturingLogger();
    const app = createApp({ id: 'stall', transport, logger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('lossy', items, (item$) => item$.pipe(filter((m) => m.value.id !== 2)), { stallTimeoutMs: 40 });
    await app.start();
    await produce(app, 'items', 5);
    await waitFor(() => logger.lines.some((line) => line.message?.startsWith('stalled')));
    const warning = logger.lines.find((line) => line.message?.startsWith('stalled'))!;
    expect(warning.fields).to.include({ agent: 'lossy', topic: 'items', partition: 0, offset: 2 });
    await waitFor(async () => (await transport.committedOffsets('stall.lossy', 'items')).length > 0);
    expect(await transport.committedOffsets('stall.lossy', 'items')).to.deep.equal([
      { topic: 'items', partition: 0, offset: 2 },
    ]);
    await app.stop();
  });

  it('a topic is an Observable: a direct subscription reads it and commits what next() returned from', async () => {
    const { transport } = setup({ partitions: 2 });
    const app = createApp({ id: 'direct', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    await produce(app, 'items', 30);
    const ids: number[] = [];
    const subscription = items.subscribe((message) => ids.push(message.value.id));
    await waitFor(async () => (await committedTotal(transport, 'direct.items.subscriber', 'items')) === 30);
    subscription.unsubscribe();
    expect([...ids].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    await app.stop();
  });
});
