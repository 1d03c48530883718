import { expect } from 'chai';
import { type SchedulerAction, type SchedulerLike, type Subscription, VirtualTimeScheduler } from 'rxjs';
import type { AgentScope } from '../../../lib/agent/partition-resources.js';
import type { Logger } from '../../../lib/core/logger.js';
import type { Transport } from '../../../lib/transports/transport.js';
import { IdleCloser } from '../../../lib/windows/idle-closer.js';
import { WindowPartition } from '../../../lib/windows/window-partition.js';
import type { WindowBinding } from '../../../lib/windows/window-results.js';

type Part = WindowPartition<string, number>;

interface Offset {
  readonly partition: number;
  readonly offset: number;
}

interface Write {
  readonly at: number;
  readonly partition: number;
  readonly watermark: number;
}

/**
 * A windowed table as {@link IdleCloser} sees it, in virtual time: watermark writes recorded (durable at
 * once unless held), closing recorded (what the durable watermark passed is taken off the partition),
 * the topic's end and committed offsets as a test sets them.
 */
class Harness {
  readonly scheduler = new VirtualTimeScheduler();
  /** The delay of every timer asked for (a virtual scheduler ignores a delay that is not finite). */
  readonly asked: number[] = [];
  readonly writes: Write[] = [];
  /** Wall-clock time and durable watermark of each close. */
  readonly closes: [at: number, durable: number][] = [];
  readonly owned = new Set<Part>();
  readonly debug: [fields: Record<string, unknown>, message: string | undefined][] = [];
  /** Writes are held (not acknowledged) while set; `release` acknowledges them. */
  hold = false;
  readonly #held: ((durable: boolean) => void)[] = [];
  ends: Offset[] = [];
  committed: Offset[] = [];
  transportError: Error | undefined;
  /** Called as the caught-up check starts. */
  onCheck: () => void = () => {};
  binding: WindowBinding<string, number> | undefined;
  readonly closer: IdleCloser<Part>;

  constructor(
    readonly idleAfterMs: number,
    scope: boolean = false,
  ) {
    const logger: Logger = {
      debug: (fields, message) => void this.debug.push([fields as Record<string, unknown>, message]),
      info: () => {},
      warn: () => {},
      error: () => {},
    };
    const transport = {
      endOffsets: async (topic: string) => {
        expect(topic).to.equal('orders');
        this.onCheck();
        if (this.transportError) throw this.transportError;
        return this.ends.map((end) => ({ topic, ...end }));
      },
      committedOffsets: async (group: string, topic: string) => {
        expect([group, topic]).to.deep.equal(['volume-group', 'orders']);
        return this.committed.map((done) => ({ topic, ...done }));
      },
    } as unknown as Transport;
    this.closer = new IdleCloser<Part>({
      name: 'per-second',
      logger,
      idleAfterMs,
      binding: () => this.binding,
      owns: (part) => this.owned.has(part),
      transport: () => Promise.resolve(transport),
      writeWatermark: (part, watermark, then) => {
        this.writes.push({ at: this.scheduler.now(), partition: part.partition, watermark });
        if (this.hold) this.#held.push(then);
        else then(true);
      },
      closeDue: (part) => {
        this.closes.push([this.scheduler.now(), part.durable]);
        part.takeDue(part.durable);
      },
    });
    this.binding = this.bindingFor(scope);
  }

  bindingFor(scope: boolean): WindowBinding<string, number> {
    const agent: AgentScope = {
      agent: 'volume',
      group: 'volume-group',
      topic: 'orders',
      errors: {},
      use: () => {},
      fail: (error) => {
        throw error;
      },
    };
    const scheduler: SchedulerLike = {
      now: () => this.scheduler.now(),
      schedule: <T>(
        work: (this: SchedulerAction<T>, state?: T) => void,
        delay?: number,
        state?: T,
      ): Subscription => {
        this.asked.push(delay ?? 0);
        return this.scheduler.schedule(work, delay, state);
      },
    };
    return { emit: () => {}, scheduler, scope: scope ? agent : undefined };
  }

  /** An owned partition with grace `grace`. */
  part(grace = 0, partition = 0): Part {
    const part = new WindowPartition<string, number>(partition, grace, this.scheduler.now());
    this.owned.add(part);
    return part;
  }

  /** A record at event time `t` arrives now, its window ending at `end`; the closer is armed. */
  record(part: Part, t: number, end: number): void {
    part.lastRecordAt = this.scheduler.now();
    part.observe(t, this.scheduler.now());
    part.schedule(end, `k${end}`, `k${end}`);
    this.closer.arm(part);
  }

  release(durable: boolean): void {
    for (const then of this.#held.splice(0)) then(durable);
  }

  /** Timers pending. */
  get timers(): number {
    return this.scheduler.actions.length;
  }

  /** Runs what is due up to wall-clock time `until` (and the promises it starts). */
  async until(until: number): Promise<void> {
    for (let i = 0; i < 10; i++) {
      this.scheduler.maxFrames = until;
      this.scheduler.flush();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.scheduler.frame = until;
  }
}

describe('IdleCloser: closing by the wall clock', () => {
  describe('when it looks', () => {
    it('once the wall clock passed the first due end + grace, and not before idleAfterMs after the last record', async () => {
      const h = new Harness(5);
      const part = h.part(3);
      h.record(part, 1, 10); // at wall-clock 0: the idle watermark reaches 10 at 0 + (10 + 3 − 1) = 12
      await h.until(11);
      expect(h.writes).to.deep.equal([]);
      await h.until(12);
      expect(h.writes).to.deep.equal([{ at: 12, partition: 0, watermark: 10 }]);
      expect(h.closes).to.deep.equal([[12, 10]]);
      expect(part.floor).to.equal(10);
      expect(h.timers).to.equal(0); // nothing due any more

      const slow = new Harness(50);
      const other = slow.part(0);
      slow.record(other, 1, 10);
      await slow.until(49);
      expect(slow.writes).to.deep.equal([]);
      await slow.until(50);
      expect(slow.writes).to.deep.equal([{ at: 50, partition: 0, watermark: 51 }]); // 1 + 50 of wall clock
    });

    it('a timer armed is brought forward when an earlier window becomes due; one timer per partition', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.record(part, 0, 20);
      h.record(part, 0, 20); // due at the same time: the timer stays
      expect(h.asked).to.deep.equal([20]);
      h.record(part, 0, 10);
      expect(h.timers).to.equal(1);
      h.record(part, 0, 30);
      expect(h.timers).to.equal(1);
      await h.until(100);
      expect(h.writes.map((w) => w.at)).to.deep.equal([10, 20, 30]);
      expect(h.timers).to.equal(0);
    });

    it('while records flow with event time racing ahead, it re-arms once per idle period, not per record, and still closes on time', async () => {
      const h = new Harness(10);
      const part = h.part();
      for (let wall = 0; wall < 10; wall++) {
        h.scheduler.frame = wall;
        h.record(part, 100 * wall, 1000); // each record brings the window's wall time 99 earlier
      }
      // armed at 1000 by the first record, brought forward once to 11 (when it could first be idle)
      expect(h.asked).to.deep.equal([1000, 10]);
      await h.until(108);
      expect(h.writes).to.deep.equal([]);
      // event time 900 seen at wall 9: the idle watermark reaches 1000 at 109
      await h.until(109);
      expect(h.writes).to.deep.equal([{ at: 109, partition: 0, watermark: 1000 }]);
      expect(h.asked).to.deep.equal([1000, 10, 98]);
    });

    it('arms no timer with no subscription, nothing due, no event time yet, or while a look is under way', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.binding = undefined;
      h.record(part, 0, 10);
      expect(h.asked).to.deep.equal([]);

      const idle = new Harness(1);
      const empty = idle.part();
      empty.observe(5, 0);
      idle.closer.arm(empty);
      expect(idle.asked).to.deep.equal([]);

      const fresh = new Harness(1);
      const timeless = fresh.part();
      timeless.schedule(10, 'k', 'k'); // a restored window, before any event time
      fresh.closer.arm(timeless);
      expect(fresh.asked).to.deep.equal([]);

      const busy = new Harness(1);
      const probing = busy.part();
      busy.hold = true;
      busy.record(probing, 0, 10);
      await busy.until(10);
      expect(busy.writes).to.have.length(1);
      busy.record(probing, 5, 20);
      busy.record(probing, 5, 12);
      expect(busy.asked).to.have.length(1);
      busy.hold = false;
      busy.release(true); // then it looks again
      expect(busy.timers).to.equal(1);
      await busy.until(100);
      // event time 5 seen at wall-clock 10: the idle watermark reaches 12 at 17, 20 at 25
      expect(busy.writes.map((w) => [w.at, w.watermark])).to.deep.equal([
        [10, 10],
        [17, 12],
        [25, 20],
      ]);
    });
  });

  describe('what it finds', () => {
    it('a record less than idleAfterMs ago: it looks again later', async () => {
      const h = new Harness(10);
      const part = h.part();
      h.record(part, 0, 5); // due at max(10, 5) = 10
      h.scheduler.frame = 8;
      part.lastRecordAt = 8; // a record of a key with nothing new due (the timer stays at 10)
      await h.until(17);
      expect(h.writes).to.deep.equal([]);
      await h.until(18);
      expect(h.writes.map((w) => w.at)).to.deep.equal([18]);
    });

    it('event time that moved slower than the wall clock: the due window is still open, it looks again when it is not', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.record(part, 5, 10); // at wall 0: looks at 5
      h.scheduler.frame = 3;
      h.record(part, 6, 10); // at wall 3: the idle watermark reaches 10 at 3 + 4 = 7
      await h.until(6);
      expect(h.writes).to.deep.equal([]);
      await h.until(7);
      expect(h.writes).to.deep.equal([{ at: 7, partition: 0, watermark: 10 }]);
    });

    it('nothing due any more (closed by records meanwhile): no write, no timer', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.record(part, 0, 10);
      part.takeDue(10);
      await h.until(100);
      expect(h.writes).to.deep.equal([]);
      expect(h.timers).to.equal(0);
    });

    it('nothing closes before the watermark is durable; a write that did not land is made again', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.hold = true;
      h.record(part, 0, 10);
      await h.until(10);
      expect(h.writes).to.have.length(1);
      h.release(false);
      expect(h.closes).to.deep.equal([]);
      expect(part.floor).to.equal(Number.NEGATIVE_INFINITY);
      await h.until(10);
      expect(h.writes).to.have.length(2);
      h.release(true);
      expect(h.closes).to.deep.equal([[10, 10]]);
    });

    it('a partition that moved away meanwhile: nothing closes, no timer is left', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.hold = true;
      h.record(part, 0, 10);
      h.record(part, 0, 20);
      await h.until(10);
      h.owned.delete(part);
      h.release(true);
      expect(h.closes).to.deep.equal([]);
      expect(h.timers).to.equal(0);
    });

    it('a timer that fires once the partition moved away, or the subscription changed, does nothing', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.record(part, 0, 10);
      h.owned.delete(part);
      await h.until(100);
      expect(h.writes).to.deep.equal([]);
      expect(h.timers).to.equal(0);

      const other = new Harness(1);
      const still = other.part();
      other.record(still, 0, 10);
      other.binding = other.bindingFor(false); // a new subscription, the old timers not stopped yet
      await other.until(100);
      expect(other.writes).to.deep.equal([]);

      const agent = new Harness(1, true); // in an agent: not even the broker is asked
      const gone = agent.part();
      let checks = 0;
      agent.onCheck = () => checks++;
      agent.record(gone, 0, 10);
      agent.owned.delete(gone);
      await agent.until(100);
      expect([checks, agent.writes.length]).to.deep.equal([0, 0]);
    });

    it('stop cancels every timer; the next subscription arms the partition afresh', async () => {
      const h = new Harness(1);
      const part = h.part();
      h.record(part, 0, 10);
      h.closer.stop();
      expect(h.timers).to.equal(0);
      h.binding = h.bindingFor(false);
      h.closer.arm(part);
      await h.until(100);
      expect(h.writes.map((w) => w.at)).to.deep.equal([10]);
    });
  });

  describe('caught up (in an agent)', () => {
    it('looks at end and committed offsets of its own partition: behind them, it looks again idleAfterMs later', async () => {
      const h = new Harness(5, true);
      const part = h.part(0, 1);
      part.nextOffset = 3;
      h.ends = [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 10 },
      ];
      h.committed = [
        { partition: 0, offset: 100 },
        { partition: 1, offset: 7 },
      ];
      h.record(part, 0, 10); // looks at 10: 3 seen, 7 committed, 10 at the end
      await h.until(10);
      expect(h.writes).to.deep.equal([]);
      h.committed = [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 10 },
      ];
      await h.until(14);
      expect(h.writes).to.deep.equal([]);
      await h.until(15);
      expect(h.writes).to.deep.equal([{ at: 15, partition: 1, watermark: 15 }]);
    });

    it('every record up to the end offset seen (none committed): caught up', async () => {
      const h = new Harness(5, true);
      const part = h.part(0, 1);
      part.nextOffset = 10;
      h.ends = [
        { partition: 0, offset: 50 },
        { partition: 1, offset: 10 },
      ];
      h.record(part, 0, 10);
      await h.until(10);
      expect(h.writes.map((w) => w.at)).to.deep.equal([10]);
    });

    it('a partition with no end offset (nothing written yet) has caught up; one whose end is unknown has not', async () => {
      const h = new Harness(5, true);
      const part = h.part(0, 1);
      h.ends = [{ partition: 0, offset: 50 }];
      h.record(part, 0, 10);
      await h.until(10);
      expect(h.writes.map((w) => w.at)).to.deep.equal([10]);
    });

    it('could not tell (the broker did not answer): not caught up, looked at again, logged at debug', async () => {
      const h = new Harness(5, true);
      const part = h.part();
      h.transportError = new Error('broker away');
      h.record(part, 0, 10);
      await h.until(10);
      expect(h.writes).to.deep.equal([]);
      expect(h.debug).to.deep.equal([
        [{ table: 'per-second', err: h.transportError }, 'could not tell whether a partition caught up'],
      ]);
      h.transportError = undefined;
      await h.until(15);
      expect(h.writes.map((w) => w.at)).to.deep.equal([15]);
    });

    it('the partition moved away while it asked: no write, no timer', async () => {
      const h = new Harness(5, true);
      const part = h.part();
      h.onCheck = () => h.owned.delete(part);
      h.record(part, 0, 10);
      await h.until(100);
      expect(h.writes).to.deep.equal([]);
      expect(h.timers).to.equal(0);
    });
  });
});
