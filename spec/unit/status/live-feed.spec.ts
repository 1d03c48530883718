import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import type { AgentStats, SinkHealth, Transport } from '../../../lib/index.js';
import type { PartitionLag } from '../../../lib/metrics/commit-lag.js';
import { LiveFeed } from '../../../lib/status/live-page/live-feed.js';
import type { LiveSnapshot } from '../../../lib/status/live-page/live-snapshot.js';
import { agentStats } from '../../support/agent-stats.js';

/** An agent whose `stats()` returns whatever the test set last. */
class ScriptedAgent {
  current: AgentStats;
  constructor(name: string) {
    this.current = agentStats(name, 'orders', { partitions: [] });
  }
  set(changes: Partial<AgentStats>): void {
    this.current = { ...this.current, ...changes };
  }
  stats(): AgentStats {
    return this.current;
  }
}

/** Lets pending promises (the lag reads of a sample) resolve. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('LiveFeed', () => {
  let scheduler: VirtualTimeScheduler;
  let feed: LiveFeed | undefined;
  const unusedTransport = (): Promise<Transport> => Promise.reject(new Error('unused'));

  /** Runs virtual time forward by `ms`, letting each sample's lag read resolve. */
  const advance = async (ms: number, step = 100): Promise<void> => {
    for (let t = 0; t < ms; t += step) {
      scheduler.maxFrames += step;
      scheduler.flush();
      await settle();
    }
  };

  beforeEach(() => {
    scheduler = new VirtualTimeScheduler();
    scheduler.maxFrames = 0;
  });
  afterEach(() => feed?.close());

  it('samples every interval and publishes a snapshot with rates from the settled deltas and the lag read', async () => {
    const save = new ScriptedAgent('save');
    const lags: PartitionLag[] = [{ partition: 0, end: 50, committed: 40, lag: 10 }];
    const asked: string[] = [];
    feed = new LiveFeed(
      { id: 'feed', agents: [save], transport: unusedTransport },
      {
        intervalMs: 1000,
        scheduler,
        lag: async (group, topic) => {
          asked.push(`${group}/${topic}`);
          return lags;
        },
        sinks: () => [],
      },
    );
    const seen: LiveSnapshot[] = [];
    feed.snapshots.subscribe((snapshot) => seen.push(snapshot));
    expect(seen).to.have.length(1); // the latest, at once

    await advance(100); // the first sample, at t=0
    save.set({ settled: 500 });
    await advance(1000);
    save.set({ settled: 800 });
    await advance(1000);

    const last = seen.at(-1)!;
    expect(last.at).to.equal(2000);
    expect(last.agents[0]!.series.at).to.deep.equal([0, 1000, 2000]);
    expect(last.agents[0]!.series.rate).to.deep.equal([null, 500, 300]);
    expect(last.agents[0]).to.include({ ratePerSecond: 300, lag: 10, settled: 800 });
    expect(asked).to.deep.equal(['app.save/orders', 'app.save/orders', 'app.save/orders']);
    expect(feed.latest).to.equal(last);
  });

  it('keeps only historyMs of history', async () => {
    const save = new ScriptedAgent('save');
    feed = new LiveFeed(
      { id: 'feed', agents: [save], transport: unusedTransport },
      { intervalMs: 1000, historyMs: 3000, scheduler, lag: async () => [], sinks: () => [] },
    );
    await advance(10_000);
    expect(feed.latest.agents[0]!.series.at).to.deep.equal([7000, 8000, 9000, 10_000]);
  });

  it('shows lag as unknown when the broker cannot be asked, and does not ask for agents not running', async () => {
    const running = new ScriptedAgent('running');
    const stopped = new ScriptedAgent('stopped');
    stopped.set({ state: 'stopped' });
    const asked: string[] = [];
    feed = new LiveFeed(
      { id: 'feed', agents: [running, stopped], transport: unusedTransport },
      {
        scheduler,
        lag: async (group) => {
          asked.push(group);
          throw new Error('broker down');
        },
        sinks: () => [],
      },
    );
    await advance(100);
    expect(feed.latest.agents.map((a) => a.lag)).to.deep.equal([null, null]);
    expect(feed.latest.status).to.equal('failing');
    expect(asked).to.deep.equal(['app.running']);
  });

  it("reports the app's own sinks and its failure as they are at each sample", async () => {
    const failing: SinkHealth = {
      agent: 'save',
      name: 'redis',
      state: 'failing',
      since: 0,
      lastError: 'ECONNREFUSED',
      failedAttempts: 2,
    };
    let sinks: SinkHealth[] = [];
    const app: {
      id: string;
      agents: ScriptedAgent[];
      transport: () => Promise<Transport>;
      failure?: Error;
      sinkHealth: () => readonly SinkHealth[];
    } = {
      id: 'feed',
      agents: [],
      transport: unusedTransport,
      sinkHealth: () => sinks,
    };
    feed = new LiveFeed(app, { scheduler, lag: async () => [] });
    await advance(100);
    expect(feed.latest.sinks).to.deep.equal([]);
    sinks = [failing];
    app.failure = new Error('Agent save failed');
    await advance(1000);
    expect(feed.latest.sinks).to.deep.equal([failing]);
    expect(feed.latest).to.include({ status: 'failing', failure: 'Error: Agent save failed' });
  });

  it('does not pile up samples while the broker is slow to answer', async () => {
    let calls = 0;
    let answer: (lags: PartitionLag[]) => void = () => {};
    feed = new LiveFeed(
      { id: 'feed', agents: [new ScriptedAgent('save')], transport: unusedTransport },
      {
        intervalMs: 100,
        scheduler,
        lag: () => {
          calls++;
          return new Promise((resolve) => (answer = resolve));
        },
        sinks: () => [],
      },
    );
    await advance(1000);
    expect(calls).to.equal(1);
    answer([]);
    await settle();
    await advance(100);
    expect(calls).to.equal(2);
  });

  it('on close stops its timer, completes its subscribers and completes late ones at once', async () => {
    feed = new LiveFeed(
      { id: 'feed', agents: [new ScriptedAgent('save')], transport: unusedTransport },
      { scheduler, lag: async () => [], sinks: () => [] },
    );
    let completed = false;
    feed.snapshots.subscribe({ complete: () => (completed = true) });
    await advance(2000);
    const at = feed.latest.at;
    feed.close();
    feed.close();
    expect(completed).to.equal(true);
    expect(scheduler.actions).to.have.length(0);
    await advance(3000);
    expect(feed.latest.at).to.equal(at);
    let late = false;
    feed.snapshots.subscribe({
      next: () => expect.fail('no snapshot after close'),
      complete: () => (late = true),
    });
    expect(late).to.equal(true);
  });
});
