import { expect } from 'chai';
import { type TestScheduler } from 'rxjs/testing';
import {
  type App,
  InvalidCronExpressionError,
  MemoryBroker,
  MemoryTransport,
  type TimerTick,
  createApp,
  silentLogger,
  string,
} from '../../../lib/index.js';
import { waitFor } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

/** Unsubscribes long after the expected end, so that a timer that never completes fails instead of running forever. */
const BOUND = '^ 2s !';
const CRON_BOUND = '^ 600m !';

const tick = (index: number, at: number): TimerTick => ({ index, scheduledAt: new Date(at) });

/** An app that is never started: stop() still runs, with nothing to drain. */
const idleApp = (): App => createApp({ id: 'timers', broker: 'memory://timers-app', logger: silentLogger });

describe('app timers', () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbles()));

  describe('app.timer', () => {
    it('fires every period and completes when app.stop() begins', () => {
      const app = idleApp();
      scheduler.run(({ cold, expectObservable }) => {
        cold('250ms s').subscribe(() => void app.stop());
        expectObservable(app.timer(100, { scheduler }), BOUND).toBe('100ms a 99ms b 49ms |', {
          a: tick(0, 100),
          b: tick(1, 200),
        });
      });
      expect(scheduler.actions, 'nothing left scheduled after the stop').to.have.length(0);
    });

    it('ends at its own stop$ when that comes first, and at the app stop when that does', () => {
      const app = idleApp();
      scheduler.run(({ cold, expectObservable }) => {
        cold('350ms s').subscribe(() => void app.stop());
        expectObservable(app.timer(100, { scheduler, stop$: cold('150ms x') }), BOUND).toBe(
          '100ms a 49ms |',
          {
            a: tick(0, 100),
          },
        );
        expectObservable(app.timer(100, { scheduler, stop$: cold('1s x') }), BOUND).toBe(
          '100ms a 99ms b 99ms c 49ms |',
          { a: tick(0, 100), b: tick(1, 200), c: tick(2, 300) },
        );
      });
    });

    it('subscribed after the app began to stop, completes at once without firing', () => {
      const app = idleApp();
      void app.stop();
      scheduler.run(({ expectObservable }) => {
        expectObservable(app.timer(100, { scheduler }), BOUND).toBe('|');
      });
    });

    it('refuses a period that is not a positive number', () => {
      expect(() => idleApp().timer(0)).to.throw(RangeError);
    });
  });

  describe('app.crontab', () => {
    it('fires at the times the expression names and completes when app.stop() begins', () => {
      const app = idleApp();
      scheduler.run(({ cold, expectObservable }) => {
        cold('12s s').subscribe(() => void app.stop());
        // six fields: every 5 seconds; virtual time starts at the epoch
        expectObservable(app.crontab('*/5 * * * * *', { scheduler }), CRON_BOUND).toBe(
          '5s a 4999ms b 1999ms |',
          {
            a: tick(0, 5_000),
            b: tick(1, 10_000),
          },
        );
      });
    });

    it('reads the expression in the time zone given', () => {
      const app = idleApp();
      scheduler.run(({ cold, expectObservable }) => {
        cold('180m s').subscribe(() => void app.stop());
        // 02:00 in Paris is 01:00 UTC on 1 January 1970 (UTC+1)
        expectObservable(app.crontab('0 2 * * *', { scheduler, timezone: 'Europe/Paris' }), CRON_BOUND).toBe(
          '60m a 7199999ms |',
          { a: tick(0, 3_600_000) },
        );
      });
    });

    it('throws InvalidCronExpressionError at once for a bad expression', () => {
      expect(() => idleApp().crontab('61 * * * *')).to.throw(InvalidCronExpressionError);
    });
  });

  describe('app.stopping$', () => {
    it('emits once when stop() begins; a subscriber that calls stop() gets the same promise', async () => {
      const app = idleApp();
      const seen: string[] = [];
      let again: Promise<void> | undefined;
      app.stopping$.subscribe({
        next: () => {
          seen.push('stopping');
          again = app.stop();
        },
        complete: () => seen.push('complete'),
      });
      const stopping = app.stop();
      expect(seen).to.deep.equal(['stopping', 'complete']);
      expect(again).to.equal(stopping);
      expect(app.stop()).to.equal(stopping);
      await stopping;
      const late: string[] = [];
      app.stopping$.subscribe({ next: () => late.push('stopping'), complete: () => late.push('complete') });
      expect(late, 'a late subscriber hears it too').to.deep.equal(['stopping', 'complete']);
    });
  });

  it('on a running app, a real-time timer ticks, then completes as stop() begins, before the agents drained', async () => {
    const broker = new MemoryBroker();
    const app = createApp({
      id: 'timers-live',
      transport: new MemoryTransport(broker),
      logger: silentLogger,
    });
    const input = app.topic('timer-input', { value: string() });
    const agent = app.agent('idle', input, (message$) => message$);
    await app.start();
    const ticks: number[] = [];
    let completed = false;
    app.timer(5).subscribe({ next: ({ index }) => ticks.push(index), complete: () => (completed = true) });
    await waitFor(() => ticks.length >= 3);
    const stopped = app.stop();
    expect(completed, 'completed synchronously in stop()').to.equal(true);
    expect(agent.state).to.equal('stopping');
    await stopped;
    expect(ticks.slice(0, 3)).to.deep.equal([0, 1, 2]);
  });
});
