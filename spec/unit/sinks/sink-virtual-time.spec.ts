import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { type Message, SinkError, backoffDelay, sink } from '../../../lib/index.js';
import { testPipeline } from '../../../lib/testing/index.js';
import { marbles, seeded } from '../../support/marbles.js';

describe('sink under virtual time (default scheduler, injected jitter)', () => {
  it('retries with backoff on exact frames: jitter from the backoff’s random, timers from TestScheduler.run', () => {
    const scheduler = marbles();
    const draws: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const down = new Error('down');
      const attempt = cold('-#', undefined, down);
      const failing = sink<number, unknown>(() => attempt, {
        name: 'down',
        // no scheduler given: asyncScheduler, made virtual by TestScheduler.run
        retry: {
          retries: 3,
          backoff: {
            initialDelayMs: 1000,
            random: () => {
              draws.push(0.25);
              return 0.25;
            },
          },
        },
      });
      const input = cold('a|', { a: 1 });
      const run = testPipeline((source: Observable<Message<number, unknown>>) => source.pipe(failing), input);
      // delays half + a quarter of 1000, 2000, 4000: 625, 1250, 2500; each attempt fails 1 ms after it starts
      expectObservable(run.failed).toBe('4379ms (a|)', {
        a: { partition: 0, offset: 0, error: new SinkError('down', 4, down) },
      });
      expectObservable(run.settled).toBe('4379ms |');
      expectSubscriptions(attempt.subscriptions).toBe(['^!', '626ms ^!', '1877ms ^!', '4378ms ^!']);
      expectSubscriptions(input.subscriptions).toBe('^!');
    });
    expect(draws).to.have.length(3);
    expect(scheduler.actions, 'no timer left behind').to.have.length(0);
  });

  it('gives the same frames on every run with a seeded random (the same test ended 18512.37 or 20974.80 with Math.random)', () => {
    const failedAt = (): number[] => {
      const scheduler = marbles();
      const frames: number[] = [];
      scheduler.run(({ cold, flush }) => {
        const failing = sink<number, unknown>(() => cold('-#', undefined, new Error('down')), {
          name: 'down',
          retry: { retries: 5, backoff: { initialDelayMs: 500, random: seeded(16) } },
        });
        const run = testPipeline(
          (source: Observable<Message<number, unknown>>) => source.pipe(failing),
          cold('a|', { a: 1 }),
        );
        run.failed.subscribe(() => frames.push(scheduler.now()));
        flush();
      });
      return frames;
    };
    const first = failedAt();
    const random = seeded(16);
    const delays = [1, 2, 3, 4, 5].map((retry) => backoffDelay({ initialDelayMs: 500 }, retry, random));
    // six attempts of 1 ms each, and the five jittered delays between them
    expect(first).to.deep.equal([6 + delays.reduce((sum, delay) => sum + delay, 0)]);
    expect(first[0]! % 1, 'jitter makes fractional frames').to.not.equal(0);
    expect(failedAt()).to.deep.equal(first);
  });
});
