import { expect } from 'chai';
import { defer, of } from 'rxjs';
import {
  type App,
  MemoryBroker,
  MemoryTransport,
  type SinkHealth,
  createApp,
  silentLogger,
  sink,
  string,
} from '../../lib/index.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

/** The value of one sample of the Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${rendered}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const errors = { retries: 1, backoff: { initialDelayMs: 1, jitter: false } } as const;

const newApp = (id: string): App =>
  createApp({ id, transport: new MemoryTransport(new MemoryBroker()), logger: silentLogger });

/** A sink named `redis` whose server answers. */
const redisUp = () => sink<string, string | null>(() => of(true), { name: 'redis', retry: { retries: 0 } });

/**
 * A sink named `redis` whose server is down. Its second attempt (the record's retry, after its first
 * failure) waits until `meanwhile` made another sink named `redis` write, then fails: a health keyed by
 * sink name alone would then say that the sink wrote since the record first failed (bad input,
 * dead-lettered) instead of down (held).
 */
const redisDown = (meanwhile: () => Promise<void>) => {
  let calls = 0;
  return sink<string, string | null>(
    () =>
      defer(async () => {
        if (++calls === 2) await meanwhile();
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
      }),
    { name: 'redis', retry: { retries: 0 } },
  );
};

const brief = (health: readonly SinkHealth[]) =>
  health.map(({ agent, name, state }) => ({ agent, name, state }));

describe('sink health belongs to the app (memory://)', () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  it("two apps in one process: A's sink down holds A's records, B's agent (same agent and sink names) goes on; health, changes and metrics are per app", async () => {
    const a = newApp('health-a');
    const b = newApp('health-b');
    apps.push(a, b);
    const bItems = b.topic('items', { value: string() });
    const bSave = b.agent('save', bItems, (item$) => item$.pipe(redisUp()), { errors });
    const bWrites = async (): Promise<void> => {
      const before = bSave.stats().settled;
      await bItems.send('meanwhile');
      await waitFor(() => bSave.stats().settled > before, { description: "B's redis to write" });
    };
    const aItems = a.topic('items', { value: string() });
    const aSave = a.agent('save', aItems, (item$) => item$.pipe(redisDown(bWrites)), { errors });
    const aChanges: SinkHealth[] = [];
    const bChanges: SinkHealth[] = [];
    a.sinkHealthChanges$.subscribe((change) => aChanges.push(change));
    b.sinkHealthChanges$.subscribe((change) => bChanges.push(change));
    const aMetrics = appMetrics(a);
    const bMetrics = appMetrics(b);
    await Promise.all([a.start(), b.start()]);

    await aItems.send('x');
    await waitFor(() => aSave.stats().held === 1 || aSave.stats().deadLettered > 0, {
      description: "A's record held or dead-lettered",
    });
    expect(aSave.stats()).to.include({ held: 1, deadLettered: 0, settled: 0 });

    // B is not paused by A's outage: it takes and writes more.
    await bItems.sendMany([{ value: 'y' }, { value: 'z' }]);
    await waitForCommitted(b);
    expect(bSave.stats()).to.include({ held: 0, deadLettered: 0, settled: 3 });
    expect(aSave.stats().held).to.equal(1);

    expect(brief(a.sinkHealth())).to.deep.equal([{ agent: 'save', name: 'redis', state: 'failing' }]);
    expect(a.sinkHealth()[0]!.lastError).to.equal('connect ECONNREFUSED 127.0.0.1:6379');
    expect(brief(b.sinkHealth())).to.deep.equal([{ agent: 'save', name: 'redis', state: 'ok' }]);
    expect(brief(aChanges)).to.deep.equal([{ agent: 'save', name: 'redis', state: 'failing' }]);
    expect(bChanges).to.deep.equal([]);

    const labels = { agent: 'save', sink: 'redis' };
    const aText = await aMetrics.metrics();
    const bText = await bMetrics.metrics();
    expect(sample(aText, 'rivulet_sink_failing', labels)).to.equal(1);
    expect(sample(bText, 'rivulet_sink_failing', labels)).to.equal(0);
    // The record's attempt, its retry and the outage's tries: every one failed.
    const aWrites = sample(aText, 'rivulet_sink_writes_total', labels)!;
    expect(aWrites).to.be.at.least(2);
    expect(sample(aText, 'rivulet_sink_write_failures_total', labels)).to.equal(aWrites);
    expect(sample(bText, 'rivulet_sink_writes_total', labels)).to.equal(3);
    expect(sample(bText, 'rivulet_sink_write_failures_total', labels)).to.equal(0);
    aMetrics.close();
    bMetrics.close();
  });

  it('two agents of one app with a sink of the same name: one failing does not make the other look up, nor the other failing', async () => {
    const app = newApp('health-agents');
    apps.push(app);
    const auditItems = app.topic('audit-items', { value: string() });
    const audit = app.agent('audit', auditItems, (item$) => item$.pipe(redisUp()), { errors });
    const auditWrites = async (): Promise<void> => {
      const before = audit.stats().settled;
      await auditItems.send('meanwhile');
      await waitFor(() => audit.stats().settled > before, { description: "audit's redis to write" });
    };
    const items = app.topic('items', { value: string() });
    const save = app.agent('save', items, (item$) => item$.pipe(redisDown(auditWrites)), { errors });
    await app.start();

    await items.send('x');
    await waitFor(() => save.stats().held === 1 || save.stats().deadLettered > 0, {
      description: "save's record held or dead-lettered",
    });
    expect(save.stats()).to.include({ held: 1, deadLettered: 0, settled: 0 });
    expect(audit.stats()).to.include({ held: 0, settled: 1 });
    const byAgent = [...brief(app.sinkHealth())].sort((x, y) => x.agent.localeCompare(y.agent));
    expect(byAgent).to.deep.equal([
      { agent: 'audit', name: 'redis', state: 'ok' },
      { agent: 'save', name: 'redis', state: 'failing' },
    ]);
  });
});
