import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { Ledger, type LedgerOptions } from '../../../lib/agent/ledger.js';
import type { Entry, PartitionTracker } from '../../../lib/agent/partition-tracker.js';
import { RebalanceInProgressError } from '../../../lib/core/errors.js';
import type {
  TopicPartition,
  TopicPartitionOffset,
  TransportConsumer,
} from '../../../lib/transports/transport.js';
import { capturingLogger } from '../../support/audit.js';

/** A consumer that records what the ledger asks of it; commits resolve (or reject) when the test says. */
class FakeConsumer implements TransportConsumer {
  readonly paused: TopicPartition[][] = [];
  readonly resumed: TopicPartition[][] = [];
  readonly commits: TopicPartitionOffset[][] = [];
  #pending: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Resolve commits at once (true) or leave them pending until `finishCommit` (false). */
  auto = true;

  pause(partitions: readonly TopicPartition[]): void {
    this.paused.push([...partitions]);
  }
  resume(partitions: readonly TopicPartition[]): void {
    this.resumed.push([...partitions]);
  }
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.commits.push([...offsets]);
    if (this.auto) return Promise.resolve();
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }
  finishCommit(error?: unknown): void {
    const next = this.#pending.shift();
    if (!next) throw new Error('no commit pending');
    if (error === undefined) next.resolve();
    else next.reject(error);
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

const p0: TopicPartition = { topic: 't', partition: 0 };
const p1: TopicPartition = { topic: 't', partition: 1 };
const record = (offset: number) => ({ offset, key: null, value: null, headers: {}, timestamp: 0 });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options: Partial<LedgerOptions> = {}) {
  const scheduler = new VirtualTimeScheduler();
  const logger = capturingLogger();
  const advanced: PartitionTracker[] = [];
  const committed: TopicPartitionOffset[][] = [];
  const ledger = new Ledger({
    agent: 'a',
    logger,
    maxInFlight: 100,
    commitIntervalMs: 10,
    scheduler,
    onAdvance: (tracker) => advanced.push(tracker),
    onCommitted: (offsets) => committed.push([...offsets]),
    ...options,
  });
  const consumer = new FakeConsumer();
  const admit = (tp: TopicPartition, ...offsets: number[]): Entry[] =>
    offsets.map((offset) => ledger.admit(ledger.tracker(tp), record(offset), 0));
  /** Runs the commit timers due in `ms` and lets the commits' promises settle. */
  const advance = async (ms: number) => {
    scheduler.maxFrames = scheduler.frame + ms;
    for (let i = 0; i < 5; i++) {
      scheduler.flush();
      await tick();
    }
    scheduler.frame = scheduler.maxFrames;
    scheduler.maxFrames = Number.POSITIVE_INFINITY;
  };
  return { ledger, consumer, scheduler, logger, advanced, committed, admit, advance };
}

describe('Ledger', () => {
  describe('counts', () => {
    it('counts received, settled, unsettled and the window (the part not yet committable)', () => {
      const { ledger, admit } = setup();
      const [a, b, c] = admit(p0, 0, 1, 2);
      expect([ledger.received, ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([3, 3, 3, 0]);
      expect(ledger.settle(b!)).to.equal(true);
      expect([ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([2, 3, 1]);
      expect(ledger.settle(a!)).to.equal(true); // 0 and 1 leave the window
      expect([ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([1, 1, 2]);
      expect(ledger.settle(a!)).to.equal(false); // twice counts once
      expect([ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([1, 1, 2]);
      expect([...ledger.unsettledEntries()]).to.deep.equal([c]);
      expect([...ledger.trackers()].map((t) => t.partition)).to.deep.equal([0]);
    });

    it('reports a partition whose settled prefix advanced, and only then', () => {
      const { ledger, admit, advanced } = setup();
      const [a, b] = admit(p0, 0, 1);
      ledger.settle(b!);
      expect(advanced).to.deep.equal([]);
      ledger.settle(a!);
      expect(advanced.map((t) => t.committable)).to.deep.equal([2]);
    });
  });

  describe('commits', () => {
    it('commits the contiguous settled prefix of each partition, coalesced over the commit interval', async () => {
      const { ledger, consumer, admit, advance, committed } = setup();
      ledger.attach(consumer);
      const [a, b, c] = admit(p0, 0, 1, 2);
      const [d] = admit(p1, 5);
      ledger.settle(a!);
      ledger.settle(c!); // 1 is not settled: p0 commits 1, not 3
      ledger.settle(d!);
      await advance(9);
      expect(consumer.commits).to.deep.equal([]);
      await advance(1);
      expect(consumer.commits).to.deep.equal([
        [
          { topic: 't', partition: 0, offset: 1 },
          { topic: 't', partition: 1, offset: 6 },
        ],
      ]);
      expect(committed).to.deep.equal(consumer.commits);
      expect(ledger.tracker(p0).committed).to.equal(1);
      ledger.settle(b!);
      await advance(10);
      expect(consumer.commits[1]).to.deep.equal([{ topic: 't', partition: 0, offset: 3 }]);
      await advance(100);
      expect(consumer.commits).to.have.length(2); // nothing new: nothing committed again
    });

    it('keeps one commit in flight; what settled meanwhile is committed after it', async () => {
      const { ledger, consumer, admit, advance } = setup();
      consumer.auto = false;
      ledger.attach(consumer);
      const [a, b] = admit(p0, 0, 1);
      ledger.settle(a!);
      await advance(10);
      expect(consumer.commits).to.have.length(1);
      ledger.settle(b!);
      await advance(50);
      expect(consumer.commits).to.have.length(1);
      consumer.finishCommit();
      await advance(10);
      expect(consumer.commits).to.have.length(2);
      expect(consumer.commits[1]).to.deep.equal([{ topic: 't', partition: 0, offset: 2 }]);
    });

    it('a failed commit advances nothing, is logged, and is tried again', async () => {
      const { ledger, consumer, admit, advance, logger, committed } = setup();
      consumer.auto = false;
      ledger.attach(consumer);
      const [a, b] = admit(p0, 0, 1);
      ledger.settle(a!);
      await advance(10);
      consumer.finishCommit(new Error('coordinator not available'));
      await tick();
      expect(ledger.tracker(p0).committed).to.equal(-1);
      expect(committed).to.deep.equal([]);
      expect(logger.lines.map((l) => [l.level, l.message])).to.deep.equal([
        ['warn', 'commit failed; will retry'],
      ]);
      await advance(10);
      expect(consumer.commits).to.have.length(2);
      consumer.finishCommit(new RebalanceInProgressError('rebalancing'));
      await tick();
      expect(logger.lines[1]!.level).to.equal('debug'); // expected during a rebalance
      ledger.settle(b!);
      await advance(10);
      consumer.finishCommit();
      await tick();
      expect(ledger.tracker(p0).committed).to.equal(2);
    });

    it('commits what settled before the consumer was attached', async () => {
      const { ledger, consumer, admit, advance } = setup();
      const [a] = admit(p0, 0);
      ledger.settle(a!);
      await advance(10);
      ledger.attach(consumer);
      await advance(10);
      expect(consumer.commits).to.deep.equal([[{ topic: 't', partition: 0, offset: 1 }]]);
    });

    it('commitNow and flush commit at once, without waiting for the interval', async () => {
      const { ledger, consumer, admit } = setup({ commitIntervalMs: 1_000_000 });
      ledger.attach(consumer);
      const [a, b] = admit(p0, 0, 1);
      ledger.settle(a!);
      await ledger.commitNow();
      expect(consumer.commits).to.deep.equal([[{ topic: 't', partition: 0, offset: 1 }]]);
      ledger.settle(b!);
      await ledger.flush();
      expect(consumer.commits[1]).to.deep.equal([{ topic: 't', partition: 0, offset: 2 }]);
      await ledger.flush();
      expect(consumer.commits).to.have.length(2);
    });
  });

  describe('the in-flight bound', () => {
    it('makes intake wait (partitions paused) at maxInFlight, and lets it go below 3/4 of it', async () => {
      const { ledger, consumer, admit } = setup({ maxInFlight: 4 });
      ledger.attach(consumer);
      ledger.assign([p0]);
      const entries = admit(p0, 0, 1, 2, 3);
      expect(ledger.open).to.equal(false);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      expect(ledger.pauses).to.equal(1);
      expect(consumer.paused).to.deep.equal([[p0]]);
      ledger.settle(entries[0]!); // window 3: not below 3
      await tick();
      expect(woken).to.equal(false);
      ledger.settle(entries[1]!); // window 2
      await tick();
      expect(woken).to.equal(true);
      expect(consumer.resumed).to.deep.equal([[p0]]);
      expect(ledger.open).to.equal(true);
    });

    it('does not wait while there is room', async () => {
      const { ledger, admit } = setup({ maxInFlight: 4 });
      admit(p0, 0, 1, 2);
      expect(ledger.open).to.equal(true);
      await ledger.waitForRoom();
      expect(ledger.pauses).to.equal(0);
    });

    it('a settlement that leaves the window unchanged wakes nobody', async () => {
      const { ledger, consumer, admit } = setup({ maxInFlight: 2 });
      ledger.attach(consumer);
      const [a, b] = admit(p0, 0, 1);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      ledger.settle(b!); // 0 still unsettled: the window stays 2
      await tick();
      expect(woken).to.equal(false);
      ledger.settle(a!);
      await tick();
      expect(woken).to.equal(true);
    });

    it('hold(true) stops intake whatever the room; hold(false) lets it go again', async () => {
      const { ledger, consumer } = setup({ maxInFlight: 4 });
      ledger.attach(consumer);
      ledger.assign([p0, p1]);
      ledger.hold(true);
      expect(ledger.open).to.equal(false);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      await tick();
      expect(woken).to.equal(false);
      expect(consumer.paused).to.deep.equal([[p0, p1]]);
      ledger.hold(false);
      await tick();
      expect(woken).to.equal(true);
      expect(consumer.resumed).to.deep.equal([[p0, p1]]);
    });

    it('close() wakes waiting intake, pauses the partitions, and resumes nothing afterwards', async () => {
      const { ledger, consumer, admit } = setup({ maxInFlight: 2 });
      ledger.attach(consumer);
      ledger.assign([p0]);
      const [a, b] = admit(p0, 0, 1);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      ledger.close();
      await tick();
      expect(woken).to.equal(true);
      expect(ledger.open).to.equal(true); // intake returns at once and sees the agent stopping
      expect(consumer.paused).to.have.length(2);
      void ledger.waitForRoom();
      ledger.settle(a!);
      ledger.settle(b!);
      expect(consumer.resumed).to.deep.equal([]);
    });
  });

  describe('edges (found by mutation testing)', () => {
    it('lists unsettled records only, also inside the window; each in-order settlement frees one slot', () => {
      const { ledger, admit } = setup();
      const [a, b, c] = admit(p0, 0, 1, 2);
      ledger.settle(b!);
      expect([...ledger.unsettledEntries()]).to.deep.equal([a, c]);
      ledger.settle(a!);
      expect(ledger.window).to.equal(1);
      const [d] = admit(p0, 3);
      ledger.settle(c!);
      expect(ledger.window).to.equal(1);
      ledger.settle(d!);
      expect(ledger.window).to.equal(0);
    });

    it('a settlement with nobody waiting resumes nothing', () => {
      const { ledger, consumer, admit } = setup();
      ledger.attach(consumer);
      ledger.assign([p0]);
      const [a] = admit(p0, 0);
      ledger.settle(a!);
      expect(consumer.resumed).to.deep.equal([]);
    });

    it('close() pauses every assigned partition', () => {
      const { ledger, consumer } = setup();
      ledger.attach(consumer);
      ledger.assign([p0, p1]);
      ledger.close();
      expect(consumer.paused).to.deep.equal([[p0, p1]]);
    });

    it('intake may wait before the consumer is attached; room wakes it all the same', async () => {
      const { ledger, admit } = setup({ maxInFlight: 1 });
      const [a] = admit(p0, 0);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      ledger.settle(a!);
      await tick();
      expect(woken).to.equal(true);
    });

    it('a revoke that frees too little room wakes nobody', async () => {
      const { ledger, consumer, admit } = setup({ maxInFlight: 4 }); // resumes below 3
      ledger.attach(consumer);
      ledger.assign([p0, p1]);
      admit(p0, 0, 1, 2);
      admit(p1, 0);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      await ledger.revoke([p1]); // window 3: not below 3
      await tick();
      expect(woken).to.equal(false);
    });

    it('revoke commits only the partitions revoked, of the right topic, all of them', async () => {
      const { ledger, consumer, admit } = setup();
      ledger.attach(consumer);
      const u0 = { topic: 'u', partition: 0 };
      const settleAll = (entries: Entry[]) => entries.forEach((e) => ledger.settle(e));
      settleAll(admit(p0, 0));
      settleAll(admit(p1, 0));
      settleAll(admit(u0, 0));
      await ledger.revoke([p0, p1]);
      expect(consumer.commits).to.deep.equal([
        [
          { topic: 't', partition: 0, offset: 1 },
          { topic: 't', partition: 1, offset: 1 },
        ],
      ]);
    });

    it('never commits a partition that has no record yet', async () => {
      const { ledger, consumer, admit } = setup();
      ledger.attach(consumer);
      ledger.tracker(p1); // known, nothing received
      const [a] = admit(p0, 0);
      ledger.settle(a!);
      await ledger.flush();
      expect(consumer.commits).to.deep.equal([[{ topic: 't', partition: 0, offset: 1 }]]);
    });

    it('commitNow with no commit scheduled; commitNow during a commit commits what settled meanwhile after it', async () => {
      const { ledger, consumer, admit } = setup({ commitIntervalMs: 1_000_000 });
      consumer.auto = false;
      ledger.attach(consumer);
      await ledger.commitNow(); // nothing received, no timer: nothing to do
      expect(consumer.commits).to.deep.equal([]);
      const [a, b] = admit(p0, 0, 1);
      ledger.settle(a!);
      const first = ledger.commitNow();
      ledger.settle(b!);
      const second = ledger.commitNow();
      consumer.finishCommit();
      await first;
      await tick();
      expect(consumer.commits).to.have.length(2);
      consumer.finishCommit();
      await second;
      expect(consumer.commits[1]).to.deep.equal([{ topic: 't', partition: 0, offset: 2 }]);
      expect(ledger.tracker(p0).committed).to.equal(2);
    });

    it('works without the optional callbacks, and logs a failed commit with its error', async () => {
      const scheduler = new VirtualTimeScheduler();
      const logger = capturingLogger();
      const ledger = new Ledger({ agent: 'bare', logger, maxInFlight: 10, commitIntervalMs: 1, scheduler });
      const consumer = new FakeConsumer();
      ledger.attach(consumer);
      const [a, b] = [0, 1].map((o) => ledger.admit(ledger.tracker(p0), record(o), 0));
      ledger.settle(a!);
      await ledger.flush();
      expect(ledger.tracker(p0).committed).to.equal(1);
      consumer.auto = false;
      ledger.settle(b!);
      const flushed = ledger.flush();
      await tick();
      const error = new Error('coordinator moved');
      consumer.finishCommit(error);
      await flushed;
      expect(logger.lines[0]!.fields).to.deep.equal({ agent: 'bare', err: error });
    });
  });

  describe('assignment and revocation', () => {
    it('tells a partition taken away (until it is given back)', async () => {
      const { ledger } = setup();
      ledger.assign([p0, p1]);
      expect(ledger.isRevoked(p1)).to.equal(false);
      await ledger.revoke([p1]);
      expect([ledger.isRevoked(p0), ledger.isRevoked(p1)]).to.deep.equal([false, true]);
      ledger.assign([p1]);
      expect(ledger.isRevoked(p1)).to.equal(false);
    });

    it('tells when an assigned partition is ready (its state restored)', async () => {
      const { ledger } = setup();
      const ready = Promise.resolve();
      ledger.assign([p0], ready);
      expect(ledger.whenReady(p0)).to.equal(ready);
      ledger.assign([p0]);
      expect(ledger.whenReady(p0)).to.equal(undefined);
      ledger.assign([p1], ready);
      await ledger.revoke([p1]);
      expect(ledger.whenReady(p1)).to.equal(undefined);
    });

    it('revoke commits the settled prefix first, then late settlements neither count nor commit', async () => {
      const { ledger, consumer, admit, advance } = setup();
      ledger.attach(consumer);
      ledger.assign([p0, p1]);
      const [a, b, c] = admit(p0, 0, 1, 2);
      const [other] = admit(p1, 0);
      ledger.settle(a!);
      await ledger.revoke([p0]);
      expect(consumer.commits).to.deep.equal([[{ topic: 't', partition: 0, offset: 1 }]]);
      expect([ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([1, 1, 1]); // p1's record only
      expect(ledger.settle(b!)).to.equal(false);
      expect(ledger.settle(c!)).to.equal(false);
      expect([ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([1, 1, 1]);
      expect([...ledger.unsettledEntries()]).to.deep.equal([other]);
      await advance(100);
      await ledger.flush();
      const p0Commits = consumer.commits.flat().filter((c) => c.partition === 0);
      expect(p0Commits).to.deep.equal([{ topic: 't', partition: 0, offset: 1 }]); // none after the revoke
    });

    it('a late settlement of a revoked partition does not count for the partition assigned again', async () => {
      const { ledger, consumer, admit } = setup();
      ledger.attach(consumer);
      ledger.assign([p0]);
      const [old] = admit(p0, 0, 1);
      await ledger.revoke([p0]);
      ledger.assign([p0]);
      const [fresh] = admit(p0, 0, 1); // delivered again to this member
      expect(ledger.tracker(p0)).to.equal(fresh!.tracker);
      expect(ledger.settle(old!)).to.equal(false);
      expect(fresh!.tracker.unsettled).to.equal(2);
      expect([ledger.unsettled, ledger.window, ledger.settled]).to.deep.equal([2, 2, 0]);
      await ledger.flush();
      // The new tracker may commit where it starts (0), never past the record it has not settled.
      expect(consumer.commits.flat().filter((c) => c.offset > 0)).to.deep.equal([]);
      expect(ledger.settle(fresh!)).to.equal(true);
      await ledger.flush();
      expect(consumer.commits.at(-1)).to.deep.equal([{ topic: 't', partition: 0, offset: 1 }]);
    });

    it('revoke waits for the commit in flight, and wakes intake when the revoked records free room', async () => {
      const { ledger, consumer, admit, advance } = setup({ maxInFlight: 2 });
      consumer.auto = false;
      ledger.attach(consumer);
      ledger.assign([p0, p1]);
      const [a] = admit(p0, 0);
      admit(p1, 0);
      ledger.settle(a!);
      await advance(10);
      expect(consumer.commits).to.have.length(1);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      let revoked = false;
      void ledger.revoke([p1]).then(() => (revoked = true));
      await tick();
      expect(revoked).to.equal(false);
      consumer.finishCommit();
      await tick();
      expect(revoked).to.equal(true);
      expect(woken).to.equal(true);
      expect(ledger.window).to.equal(0);
    });
  });

  describe('commit holds (a settled record whose change is not durable yet)', () => {
    it('commits nothing past a held offset, frees its place in maxInFlight, and commits once released', async () => {
      const { ledger, consumer, admit, advance } = setup({ maxInFlight: 2 });
      ledger.attach(consumer);
      ledger.assign([p0]);
      const [a, b] = admit(p0, 0, 1);
      const hold = ledger.holdCommit(a!)!;
      ledger.settle(a!);
      ledger.settle(b!);
      expect(ledger.window).to.equal(0);
      expect(ledger.holds).to.equal(1);
      expect(ledger.open).to.equal(true);
      await advance(10);
      expect(consumer.commits.flat().filter((c) => c.offset > 0)).to.deep.equal([]);
      ledger.releaseCommit(hold);
      ledger.releaseCommit(hold); // twice counts once
      expect(ledger.holds).to.equal(0);
      await advance(10);
      expect(consumer.commits.at(-1)).to.deep.equal([{ topic: 't', partition: 0, offset: 2 }]);
    });

    it('bounds the held offsets too (32 per place in maxInFlight), and a release makes room', async () => {
      const { ledger, consumer, admit } = setup({ maxInFlight: 4 });
      ledger.attach(consumer);
      ledger.assign([p0]);
      const offsets = Array.from({ length: 128 }, (_, i) => i);
      const holds = admit(p0, ...offsets).map((entry) => {
        const hold = ledger.holdCommit(entry)!;
        ledger.settle(entry);
        return hold;
      });
      expect(ledger.window).to.equal(0);
      expect(ledger.open).to.equal(false);
      let woken = false;
      void ledger.waitForRoom().then(() => (woken = true));
      for (const hold of holds.slice(96, 128)) ledger.releaseCommit(hold); // 96 held: not below 3 × 32
      await tick();
      expect(woken).to.equal(false);
      ledger.releaseCommit(holds[0]!);
      await tick();
      expect(woken).to.equal(true);
    });

    it('a revoked partition takes no holds, and its holds count no more', async () => {
      const { ledger, consumer, admit } = setup();
      ledger.attach(consumer);
      ledger.assign([p0, p1]);
      const [a] = admit(p0, 0);
      const [b] = admit(p1, 0);
      const hold = ledger.holdCommit(a!)!;
      ledger.holdCommit(b!);
      ledger.settle(a!);
      await ledger.revoke([p0]);
      expect(consumer.commits.flat().filter((c) => c.offset > 0)).to.deep.equal([]); // not past the held 0
      expect(ledger.holds).to.equal(1);
      expect(ledger.holdCommit(a!)).to.equal(undefined);
      ledger.releaseCommit(hold);
      expect(ledger.holds).to.equal(1);
    });
  });
});
