import { expect } from 'chai';
import type { AgentStats, PartitionStats, SinkHealth, TableStats } from '../../../lib/index.js';
import type { PartitionLag } from '../../../lib/metrics/commit-lag.js';
import {
  type HistoryPoint,
  type LiveSample,
  historyPoint,
  liveSnapshot,
} from '../../../lib/status/live-page/live-snapshot.js';
import { agentStats } from '../../support/agent-stats.js';

const partition = (p: number, changes: Partial<PartitionStats> = {}): PartitionStats => ({
  partition: p,
  committed: 10,
  committable: 10,
  inFlight: 0,
  oldestUnsettledMs: 0,
  ...changes,
});

const lag = (p: number, end: number, committed: number): PartitionLag => ({
  partition: p,
  end,
  committed,
  lag: end - committed,
});

const sample = (at: number, agents: AgentStats[], changes: Partial<LiveSample> = {}): LiveSample => ({
  app: 'feed',
  at,
  agents,
  lags: agents.map(() => undefined),
  sinks: [],
  ...changes,
});

/** The history of a sequence of samples, as the feed keeps it. */
const historyOf = (samples: LiveSample[]): HistoryPoint[] => samples.map(historyPoint);

describe('liveSnapshot', () => {
  it('carries the counters of each agent as its stats say, with lag summed over the partitions', () => {
    const stats = agentStats('save', 'activities', {
      received: 120,
      settled: 100,
      retried: 4,
      deadLettered: 2,
      inFlight: 20,
      window: 21,
      pauses: 1,
      held: 3,
      restarts: 2,
      partitions: [partition(1, { committed: 40 }), partition(0, { committed: 60, committable: 61 })],
    });
    const now = sample(5000, [stats], { lags: [[lag(0, 70, 60), lag(1, 55, 40)]] });
    const snapshot = liveSnapshot(now, historyOf([now]));

    expect(snapshot).to.include({ version: 1, app: 'feed', at: 5000, status: 'ok' });
    expect(snapshot.tables).to.deep.equal([]);
    const [agent] = snapshot.agents;
    expect(agent).to.include({
      name: 'save',
      topic: 'activities',
      group: 'app.save',
      state: 'running',
      received: 120,
      settled: 100,
      retried: 4,
      deadLettered: 2,
      inFlight: 20,
      window: 21,
      pauses: 1,
      held: 3,
      restarts: 2,
      lag: 25,
      ratePerSecond: null,
    });
    expect(agent!.partitions).to.deep.equal([
      {
        partition: 0,
        committed: 60,
        committable: 61,
        inFlight: 0,
        oldestUnsettledMs: 0,
        stuck: false,
        end: 70,
        lag: 10,
      },
      {
        partition: 1,
        committed: 40,
        committable: 10,
        inFlight: 0,
        oldestUnsettledMs: 0,
        stuck: false,
        end: 55,
        lag: 15,
      },
    ]);
  });

  it("carries the agent's view of its consumer group when the transport tells it, and nothing when not", () => {
    const membership = {
      state: 'rebalancing' as const,
      generation: 7,
      memberId: 'worker-1-abc',
      leader: false,
      rebalances: 3,
      partitions: 2,
      partitionsGained: 6,
      partitionsLost: 4,
      rebalanceMs: 2400,
      lastRebalanceMs: 900,
      rebalancingSince: 4200,
      lastJoinAt: 3000,
    };
    const now = sample(5000, [agentStats('save', 'activities', { membership }), agentStats('plain', 'x')]);
    const [grouped, plain] = liveSnapshot(now, historyOf([now])).agents;
    expect(grouped!.membership).to.deep.equal(membership);
    expect(plain).not.to.have.property('membership');
  });

  it('computes msg/s from the settled deltas between samples, and keeps lag and in flight per sample', () => {
    const at = (t: number, settled: number, inFlight: number, lagEnd: number | undefined) =>
      sample(t, [agentStats('save', 'activities', { settled, inFlight, partitions: [partition(0)] })], {
        lags: [lagEnd === undefined ? undefined : [lag(0, lagEnd, 10)]],
      });
    const samples = [at(0, 0, 5, 15), at(1000, 300, 7, undefined), at(3000, 700, 0, 10)];
    const snapshot = liveSnapshot(samples[2]!, historyOf(samples));

    const agent = snapshot.agents[0]!;
    expect(agent.series).to.deep.equal({
      at: [0, 1000, 3000],
      rate: [null, 300, 200],
      lag: [5, null, 0],
      inFlight: [5, 7, 0],
    });
    expect(agent.ratePerSecond).to.equal(200);
  });

  it('never shows a negative rate (a counter reset after a restart) and leaves gaps where an agent was missing', () => {
    const save = (settled: number) => agentStats('save', 't', { settled });
    const other = agentStats('other', 't');
    const samples = [
      sample(0, [save(500)]),
      sample(1000, [save(100)]),
      sample(2000, [other]),
      sample(3000, [save(400), other]),
    ];
    const snapshot = liveSnapshot(samples[3]!, historyOf(samples));
    expect(snapshot.agents[0]!.series.rate).to.deep.equal([null, 0, null, null]);
    expect(snapshot.agents[0]!.series.inFlight).to.deep.equal([0, 0, null, 0]);
    expect(snapshot.agents[1]!.series.rate).to.deep.equal([null, null, null, 0]);
  });

  it('marks a partition stuck once its oldest unsettled record waited the stall timeout', () => {
    const stats = agentStats('save', 't', {
      partitions: [
        partition(0, { inFlight: 1, oldestUnsettledMs: 29_999 }),
        partition(1, { inFlight: 3, oldestUnsettledMs: 30_000 }),
        partition(2),
      ],
    });
    const now = sample(0, [stats]);
    const stuck = (options = {}) =>
      liveSnapshot(now, historyOf([now]), options).agents[0]!.partitions.map((p) => p.stuck);

    expect(stuck()).to.deep.equal([false, true, false]);
    expect(stuck({ stallTimeoutMs: 10_000 })).to.deep.equal([true, true, false]);
    expect(stuck({ stallTimeoutMs: 0 })).to.deep.equal([false, false, false]);
    expect(liveSnapshot(now, [], {}).agents[0]!.stallTimeoutMs).to.equal(30_000);
  });

  it("uses an agent's own stall timeout when its stats carry one", () => {
    const stats = {
      ...agentStats('save', 't', { partitions: [partition(0, { inFlight: 1, oldestUnsettledMs: 600 })] }),
      stallTimeoutMs: 500,
    };
    const now = sample(0, [stats]);
    const agent = liveSnapshot(now, [], { stallTimeoutMs: 60_000 }).agents[0]!;
    expect(agent.stallTimeoutMs).to.equal(500);
    expect(agent.partitions[0]!.stuck).to.equal(true);
  });

  it('shows unknown lag as null, not 0, and a partition the broker did not report without end or lag', () => {
    const stats = agentStats('save', 't', { partitions: [partition(0), partition(3)] });
    const unknown = sample(0, [stats]);
    expect(liveSnapshot(unknown, []).agents[0]).to.include({ lag: null });
    const partial = sample(0, [stats], { lags: [[lag(0, 12, 10)]] });
    const parts = liveSnapshot(partial, []).agents[0]!.partitions;
    expect(parts.map((p) => [p.end, p.lag])).to.deep.equal([
      [12, 2],
      [null, null],
    ]);
  });

  it('is failing when an agent is not running or the app failed, and says why', () => {
    const running = agentStats('a', 't');
    expect(
      liveSnapshot(sample(0, [running, agentStats('b', 't', { state: 'stopped' })]), []).status,
    ).to.equal('failing');
    const failed = liveSnapshot(sample(0, [running], { failure: 'Agent a failed: boom' }), []);
    expect(failed).to.include({ status: 'failing', failure: 'Agent a failed: boom' });
    expect(liveSnapshot(sample(0, [running]), [])).not.to.have.property('failure');
  });

  it('lists the sinks sorted by name then agent, as their health says', () => {
    const failing: SinkHealth = {
      agent: 'save',
      name: 'redis',
      state: 'failing',
      since: 1000,
      lastError: 'ECONNREFUSED 127.0.0.1:6379',
      failedAttempts: 3,
    };
    const ok: SinkHealth = {
      agent: 'save',
      name: 'http',
      state: 'ok',
      since: 0,
      lastSuccessAt: 900,
      failedAttempts: 0,
    };
    const audit: SinkHealth = { ...ok, agent: 'audit', name: 'redis' };
    expect(liveSnapshot(sample(2000, [], { sinks: [failing, ok, audit] }), []).sinks).to.deep.equal([
      ok,
      audit,
      failing,
    ]);
  });

  it("shows each table's keys summed over its owned partitions, and the restore's progress while it recovers", () => {
    const counts: TableStats = {
      name: 'counts',
      changelog: 'feed-counts-changelog',
      store: 'memory',
      state: 'recovering',
      partitionCount: 4,
      partitions: [
        { partition: 2, state: 'ready', keys: 7, read: 9, toRead: 9, pendingWrites: 1 },
        { partition: 0, state: 'recovering', keys: 3, read: 40, toRead: 100, pendingWrites: 0 },
        { partition: 1, state: 'recovering', keys: 5, read: 10, toRead: 20, pendingWrites: 0 },
      ],
      stalledMs: 4000,
      writeFailures: 0,
    };
    const audit: TableStats = {
      name: 'audit',
      changelog: 'feed-audit-changelog',
      store: 'lmdb /var/state',
      state: 'idle',
      partitionCount: undefined,
      partitions: [],
      stalledMs: undefined,
      writeFailures: 0,
    };
    const snapshot = liveSnapshot(sample(1000, [], { tables: [counts, audit] }), []);
    expect(snapshot.tables).to.deep.equal([
      { name: 'audit', state: 'idle', store: 'lmdb /var/state', keys: 0, partitions: [], stalledMs: null },
      {
        name: 'counts',
        state: 'recovering',
        store: 'memory',
        keys: 15,
        partitions: [
          { partition: 0, state: 'recovering', keys: 3, read: 40, toRead: 100, pendingWrites: 0 },
          { partition: 1, state: 'recovering', keys: 5, read: 10, toRead: 20, pendingWrites: 0 },
          { partition: 2, state: 'ready', keys: 7, read: 9, toRead: 9, pendingWrites: 1 },
        ],
        recovery: { done: 50, total: 120 },
        stalledMs: 4000,
      },
    ]);
    const ready = liveSnapshot(
      sample(2000, [], {
        tables: [{ ...counts, state: 'ready', stalledMs: undefined, partitions: [counts.partitions[0]!] }],
      }),
      [],
    );
    expect(ready.tables).to.deep.equal([
      {
        name: 'counts',
        state: 'ready',
        store: 'memory',
        keys: 7,
        partitions: [{ partition: 2, state: 'ready', keys: 7, read: 9, toRead: 9, pendingWrites: 1 }],
        stalledMs: null,
      },
    ]);
  });

  it('is plain JSON: it survives a round trip unchanged', () => {
    const stats = agentStats('<b>"a" & b</b>', 't', { partitions: [partition(0)] });
    const samples = [sample(0, [stats]), sample(1000, [stats], { lags: [[lag(0, 10, 10)]] })];
    const snapshot = liveSnapshot(samples[1]!, historyOf(samples));
    expect(JSON.parse(JSON.stringify(snapshot))).to.deep.equal(snapshot);
  });
});
