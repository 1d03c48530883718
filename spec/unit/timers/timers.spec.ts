import { expect } from 'chai';
import { type SchedulerAction, type SchedulerLike, Subject, Subscription, exhaustMap, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  InvalidCronExpressionError,
  crontab,
  periodicTimer,
  type TimerTick,
} from '../../../lib/timers/timers.js';
import { marbles } from '../../support/marbles.js';

/** Work as a scheduler receives it. */
type Work = (this: SchedulerAction<unknown>, state?: unknown) => void;

const tick = (index: number, at: number): TimerTick => ({ index, scheduledAt: new Date(at) });

describe('timers', () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbles()));

  describe('periodicTimer', () => {
    it('fires every period, the first time one period after subscription', () => {
      scheduler.run(({ expectObservable }) => {
        expectObservable(periodicTimer(100, { scheduler }).pipe(take(3))).toBe('100ms a 99ms b 99ms (c|)', {
          a: tick(0, 100),
          b: tick(1, 200),
          c: tick(2, 300),
        });
      });
    });

    it('runs in virtual time on its default scheduler under TestScheduler.run (no scheduler given)', () => {
      scheduler.run(({ expectObservable }) => {
        expectObservable(periodicTimer(1000).pipe(take(2))).toBe('1000ms a 999ms (b|)', {
          a: tick(0, 1000),
          b: tick(1, 2000),
        });
      });
      expect(scheduler.actions, 'no action left scheduled').to.have.length(0);
    });

    it('completes when stop$ emits, and stops listening to it', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const stop$ = cold('250ms s');
        expectObservable(periodicTimer(100, { scheduler, stop$ })).toBe('100ms a 99ms b 49ms |', {
          a: tick(0, 100),
          b: tick(1, 200),
        });
        expectSubscriptions(stop$.subscriptions).toBe('^ 249ms !');
      });
    });

    it('counts from its own subscription: each subscriber has its own schedule', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const late = cold('50ms x').pipe(exhaustMap(() => periodicTimer(100, { scheduler }).pipe(take(1))));
        expectObservable(late).toBe('150ms a', { a: tick(0, 150) });
      });
    });

    it('cancels its schedule on unsubscribe: nothing fires after it', () => {
      scheduler.run(({ expectObservable }) => {
        expectObservable(periodicTimer(100, { scheduler }), '^ 250ms !').toBe('100ms a 99ms b', {
          a: tick(0, 100),
          b: tick(1, 200),
        });
      });
      expect(scheduler.actions, 'no action left scheduled').to.have.length(0);
    });

    it('refuses a period that is not a positive number', () => {
      for (const period of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
        expect(() => periodicTimer(period), String(period)).to.throw(RangeError);
    });
  });

  describe('crontab', () => {
    it('fires at the times of a six-field expression (seconds first), from the scheduler’s clock', () => {
      scheduler.run(({ expectObservable }) => {
        // Virtual time starts at 0: 1970-01-01T00:00:00Z.
        expectObservable(crontab('*/2 * * * * *', { scheduler }).pipe(take(3))).toBe(
          '2s a 1999ms b 1999ms (c|)',
          { a: tick(0, 2000), b: tick(1, 4000), c: tick(2, 6000) },
        );
      });
    });

    it('reads five fields as minute, hour, day, month, weekday, in UTC by default', () => {
      scheduler.run(({ expectObservable }) => {
        expectObservable(crontab('30 1 * * *', { scheduler }).pipe(take(2))).toBe(
          '5400000ms a 86399999ms (b|)',
          { a: tick(0, 5_400_000), b: tick(1, 5_400_000 + 86_400_000) },
        );
      });
    });

    it('reads the expression in the given time zone', () => {
      scheduler.run(({ expectObservable }) => {
        // 09:00 in Paris on 1970-01-01 (UTC+1) is 08:00 UTC.
        expectObservable(crontab('0 9 * * *', { scheduler, timezone: 'Europe/Paris' }).pipe(take(1))).toBe(
          '28800000ms (a|)',
          { a: tick(0, 8 * 3_600_000) },
        );
      });
    });

    it('waits longer than a Node timer can, in steps, and fires on time', () => {
      const delays: number[] = [];
      const spy: SchedulerLike = {
        now: () => scheduler.now(),
        schedule: ((work: Work, delay?: number, state?: unknown) => {
          delays.push(delay ?? 0);
          return scheduler.schedule(work, delay, state);
        }) as SchedulerLike['schedule'],
      };
      const newYear1971 = Date.UTC(1971, 0, 1);
      scheduler.run(({ expectObservable }) => {
        expectObservable(crontab('0 0 1 1 *', { scheduler: spy }).pipe(take(1))).toBe(
          `${newYear1971}ms (a|)`,
          {
            a: tick(0, newYear1971),
          },
        );
      });
      expect(Math.max(...delays)).to.be.at.most(2 ** 31 - 1);
      expect(delays.length, 'several steps').to.be.greaterThan(1);
    });

    it('fires a late firing once and skips the times missed while the process was busy', () => {
      // A clock the test moves by hand, and the work scheduled on it.
      let now = 0;
      const pending: { due: number; run: () => void; cancelled: boolean }[] = [];
      const manual: SchedulerLike = {
        now: () => now,
        schedule: ((work: Work, delay = 0, state?: unknown) => {
          const entry = {
            due: now + delay,
            run: () => work.call(undefined as never, state),
            cancelled: false,
          };
          pending.push(entry);
          return new Subscription(() => (entry.cancelled = true));
        }) as SchedulerLike['schedule'],
      };
      const runDue = () => {
        for (const entry of pending.splice(0)) if (!entry.cancelled && entry.due <= now) entry.run();
      };
      const fired: number[] = [];
      const subscription = crontab('* * * * * *', { scheduler: manual }).subscribe((t) =>
        fired.push(t.scheduledAt.getTime()),
      );
      now = 1000;
      runDue();
      expect(fired).to.deep.equal([1000]);
      now = 4500; // busy from 1 s to 4.5 s: 2 s is late, 3 s and 4 s are missed
      runDue();
      expect(fired).to.deep.equal([1000, 2000]);
      expect(pending.map((entry) => entry.due)).to.deep.equal([5000]);
      now = 5000;
      runDue();
      expect(fired).to.deep.equal([1000, 2000, 5000]);
      subscription.unsubscribe();
      expect(pending.every((entry) => entry.cancelled)).to.equal(true);
    });

    it('completes when stop$ emits, and cancels its schedule on unsubscribe', () => {
      scheduler.run(({ cold, expectObservable }) => {
        expectObservable(crontab('* * * * * *', { scheduler, stop$: cold('2500ms s') })).toBe(
          '1s a 999ms b 499ms |',
          {
            a: tick(0, 1000),
            b: tick(1, 2000),
          },
        );
      });
      const stop$ = new Subject<void>();
      const seen: TimerTick[] = [];
      crontab('* * * * * *', { scheduler, stop$ }).subscribe((t) => seen.push(t));
      stop$.next();
      scheduler.flush();
      expect(seen).to.deep.equal([]);
      expect(scheduler.actions).to.have.length(0);
    });

    it('throws InvalidCronExpressionError at once for a bad expression or time zone', () => {
      for (const [expression, timezone] of [
        ['61 * * * *', undefined],
        ['not a cron', undefined],
        ['0 9 * * *', 'Nowhere/Atlantis'],
      ] as const) {
        expect(() => crontab(expression, timezone ? { timezone } : {}), `${expression} ${timezone}`)
          .to.throw(InvalidCronExpressionError)
          .with.property('expression', expression);
      }
    });
  });
});
