import { expect } from 'chai';
import { Registry } from 'prom-client';
import { Subject, defer, mergeMap, of, throwError } from 'rxjs';
import {
  type App,
  MemoryBroker,
  MemoryTransport,
  type SinkEvent,
  createApp,
  mapValue,
  silentLogger,
  sink,
} from '../../../lib/index.js';
import { appMetrics } from '../../../lib/metrics/app-metrics.js';
import { waitForCommitted } from '../../../lib/testing/index.js';

/** The value of a sample line `name{labels} value` in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string | number>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const prefix = `${name}{${rendered}} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

describe('appMetrics', () => {
  let app: App;
  let broker: MemoryBroker;

  beforeEach(() => {
    broker = new MemoryBroker({ defaultPartitions: 2 });
    app = createApp({ id: 'metrics', transport: new MemoryTransport(broker), logger: silentLogger });
  });

  afterEach(async () => {
    await app.stop();
  });

  it('reports agent counters, gauges and per-partition lag as the stats and offsets say', async () => {
    const numbers = app.topic<number>('numbers');
    const agent = app.agent(
      'evens',
      numbers,
      (number$) =>
        number$.pipe(
          mapValue((value) => {
            if (value % 2 !== 0) throw new Error('odd');
            return value;
          }),
        ),
      { errors: { retries: 1, backoff: { initialDelayMs: 1, jitter: false } } },
    );
    const metrics = appMetrics(app);
    await app.start();
    await numbers.sendMany([1, 2, 3, 4, 6].map((value, i) => ({ value, partition: i % 2 })));
    await waitForCommitted(app);

    const text = await metrics.metrics();
    const stats = agent.stats();
    const labels = { agent: 'evens', topic: 'numbers' };
    expect(stats.received).to.equal(5);
    expect(sample(text, 'rivulet_agent_messages_received_total', labels)).to.equal(stats.received);
    expect(sample(text, 'rivulet_agent_messages_settled_total', labels)).to.equal(stats.settled);
    expect(sample(text, 'rivulet_agent_messages_retried_total', labels)).to.equal(2);
    expect(sample(text, 'rivulet_agent_messages_dead_lettered_total', labels)).to.equal(2);
    expect(sample(text, 'rivulet_agent_in_flight', labels)).to.equal(0);
    expect(sample(text, 'rivulet_agent_window', labels)).to.equal(0);
    expect(sample(text, 'rivulet_agent_running', labels)).to.equal(1);
    expect(sample(text, 'rivulet_agent_pauses_total', labels)).to.equal(stats.pauses);
    for (const p of [0, 1]) {
      expect(sample(text, 'rivulet_agent_commit_lag', { ...labels, partition: p })).to.equal(0);
    }
    expect(sample(text, 'rivulet_agent_committed_offset', { ...labels, partition: 0 })).to.equal(3);
    expect(sample(text, 'rivulet_agent_committed_offset', { ...labels, partition: 1 })).to.equal(2);
    metrics.close();
  });

  it('computes lag as end offset minus committed, reusing the broker answer within the ttl', async () => {
    const numbers = app.topic<number>('numbers');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.agent('held', numbers, (number$) => number$.pipe(mergeMap((m) => defer(() => gate.then(() => m)))));
    let now = 0;
    const metrics = appMetrics(app, { lagTtlMs: 1000, now: () => now });
    await app.start();
    await numbers.sendMany([1, 2, 3].map((value) => ({ value, partition: 0 })));
    const labels = { agent: 'held', topic: 'numbers' };

    const before = await metrics.metrics();
    const ends = await (await app.transport()).endOffsets('numbers');
    expect(sample(before, 'rivulet_agent_commit_lag', { ...labels, partition: 0 })).to.equal(ends[0]!.offset);
    expect(sample(before, 'rivulet_agent_commit_lag', { ...labels, partition: 1 })).to.equal(0);

    release();
    await waitForCommitted(app);
    const cached = await metrics.metrics();
    expect(sample(cached, 'rivulet_agent_commit_lag', { ...labels, partition: 0 })).to.equal(3);

    now = 1000;
    const fresh = await metrics.metrics();
    expect(sample(fresh, 'rivulet_agent_commit_lag', { ...labels, partition: 0 })).to.equal(0);
    expect(sample(fresh, 'rivulet_agent_messages_settled_total', labels)).to.equal(3);
    metrics.close();
  });

  it('counts sink writes, failures, messages and latency from a sink that fails once', async () => {
    const words = app.topic<string>('words', { partitions: 1 });
    let calls = 0;
    const flaky = sink<string, string | null>(
      () => (++calls === 1 ? throwError(() => new Error('down')) : of(true)),
      { name: 'flaky', retry: { retries: 0 } },
    );
    app.agent('store', words, (word$) => word$.pipe(flaky), {
      errors: { retries: 2, backoff: { initialDelayMs: 1, jitter: false } },
    });
    const metrics = appMetrics(app);
    await app.start();
    await words.send('hello');
    await waitForCommitted(app);

    const text = await metrics.metrics();
    const labels = { agent: 'store', sink: 'flaky' };
    expect(calls).to.equal(2);
    expect(sample(text, 'rivulet_sink_writes_total', labels)).to.equal(2);
    expect(sample(text, 'rivulet_sink_write_failures_total', labels)).to.equal(1);
    expect(sample(text, 'rivulet_sink_messages_total', labels)).to.equal(2);
    expect(sample(text, 'rivulet_sink_write_duration_seconds_count', labels)).to.equal(2);
    expect(sample(text, 'rivulet_sink_write_duration_seconds_bucket', { le: '+Inf', ...labels })).to.equal(2);
    metrics.close();
  });

  it('stops counting sink events once closed, and registers in the registry it is given', async () => {
    const events = new Subject<SinkEvent>();
    const registry = new Registry();
    const metrics = appMetrics(app, { registry, sinkEvents: events });
    expect(metrics.registry).to.equal(registry);
    events.next({ agent: 'a', sink: 'http', messages: 3, durationMs: 20, attempts: 1 });
    const labels = { agent: 'a', sink: 'http' };
    expect(sample(await registry.metrics(), 'rivulet_sink_messages_total', labels)).to.equal(3);
    metrics.close();
    expect(events.observed).to.equal(false);
    expect(await registry.metrics()).not.to.contain('rivulet_');
    const again = appMetrics(app, { registry, sinkEvents: events });
    expect(await again.metrics()).to.contain('rivulet_agent_in_flight');
    again.close();
  });
});
