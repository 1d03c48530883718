import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import type { AgentStats, PartitionStats, Transport } from '../../../lib/index.js';
import { agentStats } from '../../support/agent-stats.js';
import { statusLine } from '../../../lib/status/status-line.js';
import { summary } from '../../../lib/status/summary.js';
import { SinkHealthRegistry } from '../../../lib/core/sink-health.js';
import { formatStatus } from '../../../lib/status/format-status.js';

/** An agent whose stats follow a script: each `stats()` call returns the current step. */
class ScriptedAgent {
  current: AgentStats;

  constructor(name: string, topic: string) {
    this.current = agentStats(name, topic);
  }

  set(changes: Partial<AgentStats>): void {
    this.current = { ...this.current, ...changes };
  }

  stats(): AgentStats {
    return this.current;
  }
}

const partition = (p: number, committed: number): PartitionStats => ({
  partition: p,
  committed,
  committable: committed,
  inFlight: 0,
  oldestUnsettledMs: 0,
});

/** Lets the lag promises of a refresh resolve. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('statusLine', () => {
  it('prints msg/s, in flight, committed offsets and lag per agent under virtual time', async () => {
    const scheduler = new VirtualTimeScheduler();
    const save = new ScriptedAgent('save', 'feed_activities');
    const confirm = new ScriptedAgent('confirm-orders', 'orders');
    const app = {
      agents: [save, confirm],
      transport: (): Promise<Transport> => Promise.reject(new Error('unused')),
    };
    const lags = new Map<string, number>([
      ['app.save', 5],
      ['app.confirm-orders', 0],
    ]);
    const blocks: string[] = [];
    const status = statusLine(app, {
      intervalMs: 1000,
      scheduler,
      write: (block) => blocks.push(block),
      lag: async (group, topic) =>
        [{ partition: 0, end: 0, committed: 0, lag: lags.get(group)! }].map((p) => ({ ...p, topic })),
    });

    save.set({ settled: 250, inFlight: 12, partitions: [partition(1, 120), partition(0, 130)] });
    confirm.set({ settled: 10, inFlight: 0, partitions: [partition(0, -1)] });
    scheduler.maxFrames = 1000;
    scheduler.flush();
    await settle();
    expect(blocks).to.deep.equal([
      'save               250.0 msg/s  in flight    12  committed p0@130 p1@120  lag 5\n' +
        'confirm-orders      10.0 msg/s  in flight     0  committed p0@-  lag 0\n',
    ]);

    save.set({ settled: 750, inFlight: 3, partitions: [0, 1, 2, 3, 4].map((p) => partition(p, 100)) });
    confirm.set({ state: 'stopped', settled: 10 });
    lags.set('app.save', 2);
    for (const frame of [2000, 3000]) {
      scheduler.maxFrames = frame;
      scheduler.flush();
      await settle();
    }
    expect(blocks.slice(1)).to.deep.equal([
      'save               500.0 msg/s  in flight     3  committed 5 partitions, 500 total  lag 2\n' +
        'confirm-orders       0.0 msg/s  in flight     0  committed p0@-  lag ?  (stopped)\n',
      'save                 0.0 msg/s  in flight     3  committed 5 partitions, 500 total  lag 2\n' +
        'confirm-orders       0.0 msg/s  in flight     0  committed p0@-  lag ?  (stopped)\n',
    ]);

    status.stop();
    scheduler.maxFrames = 10_000;
    scheduler.flush();
    await settle();
    expect(blocks).to.have.length(3);
    expect(status.summary()).to.equal(
      'save (feed_activities): received 0, settled 750, retried 0, dead-lettered 0, in flight 3, running, 250.0 msg/s on average\n' +
        'confirm-orders (orders): received 0, settled 10, retried 0, dead-lettered 0, in flight 0, stopped, 3.3 msg/s on average\n',
    );
  });

  it("lists the failing sinks of its own app only (each app keeps its sinks' health)", async () => {
    const scheduler = new VirtualTimeScheduler();
    const mine = new SinkHealthRegistry();
    const other = new SinkHealthRegistry();
    mine.forAgent('a').failed('redis', new Error('ECONNREFUSED'), Date.now());
    other.forAgent('a').failed('http', new Error('503'), Date.now());
    const blocks: string[] = [];
    const app = {
      agents: [new ScriptedAgent('a', 't')],
      transport: (): Promise<Transport> => Promise.reject(new Error('no broker')),
      sinkHealth: () => mine.list(),
    };
    statusLine(app, { intervalMs: 500, scheduler, write: (block) => blocks.push(block) });
    scheduler.maxFrames = 500;
    scheduler.flush();
    await settle();
    expect(blocks).to.have.length(1);
    expect(blocks[0]).to.match(/\nredis sink of a failing for \d+ s: ECONNREFUSED\n$/);
    expect(blocks[0]).not.to.contain('http');
  });

  it('shows lag as unknown when the broker cannot tell', async () => {
    const scheduler = new VirtualTimeScheduler();
    const agent = new ScriptedAgent('a', 't');
    const blocks: string[] = [];
    statusLine(
      { agents: [agent], transport: () => Promise.reject(new Error('no broker')) },
      { intervalMs: 500, scheduler, write: (block) => blocks.push(block) },
    );
    scheduler.maxFrames = 500;
    scheduler.flush();
    await settle();
    expect(blocks).to.deep.equal(['a       0.0 msg/s  in flight     0  committed -  lag ?\n']);
  });
});

describe('formatStatus', () => {
  it('adds one line per failing sink and agent, with how long and why, and the records an agent holds', () => {
    const health = new SinkHealthRegistry();
    health
      .forAgent('save')
      .failed(
        'redis',
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
        1000,
      );
    health.forAgent('audit').succeeded('redis', 1000); // same name, another agent: ok
    const text = formatStatus(
      [{ name: 'save', state: 'running', rate: 0, inFlight: 3, partitions: [], lag: 3, held: 3 }],
      health.list(),
      13_000,
    );
    expect(text).to.equal(
      'save       0.0 msg/s  in flight     3  committed -  lag 3  held 3 (sink down)\n' +
        'redis sink of save failing for 12 s: connect ECONNREFUSED 127.0.0.1:6379\n',
    );
  });
});

describe('summary', () => {
  it('omits the average without elapsed time', () => {
    const agent = new ScriptedAgent('a', 't');
    agent.set({ received: 4, settled: 3, retried: 2, deadLettered: 1, inFlight: 1 });
    expect(summary({ agents: [agent] })).to.equal(
      'a (t): received 4, settled 3, retried 2, dead-lettered 1, in flight 1, running\n',
    );
  });
});
