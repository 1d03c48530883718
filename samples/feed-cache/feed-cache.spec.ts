import { expect } from 'chai';
import { type Observable, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { RedisExecResult } from 'rivulet/redis';
import { testMessage, testPipeline } from 'rivulet/testing';
import { type Activity, type FeedPipeline, saveActivities } from './feed-cache.js';

/** A fake Redis client: records each pipeline's ZADDs and answers exec() with the observable `reply` gives. */
function fakeRedis(reply: (commands: string[][]) => Observable<RedisExecResult>) {
  const pipelines: string[][][] = [];
  const client = {
    pipeline(): FeedPipeline {
      const commands: string[][] = [];
      pipelines.push(commands);
      return {
        zadd(key, score, member) {
          commands.push(['zadd', key, String(score), member]);
        },
        exec: () => reply(commands),
      };
    },
  };
  return { client, pipelines };
}

const ok = (commands: string[][]): RedisExecResult => commands.map(() => [null, 1]);
const activity = (n: number, offset: number) =>
  testMessage<Activity>(
    { user: `u${n % 2}`, message: `m${n}`, timestamp: new Date(1_700_000_000_000 + n) },
    { offset },
  );
// a fixed backoff (no jitter), so the retries land on exact frames
const retry = { retries: 2, backoff: { initialDelayMs: 100, factor: 2, jitter: false } };

describe('sample: feed cache (marbles)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('writes each 50 ms batch as one pipeline of ZADD feed:<user> <time> <message> and settles it as a whole', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const redis = fakeRedis((commands) => cold('--(r|)', { r: ok(commands) }));
      const input = cold('a 9ms b 9ms c 100ms |', {
        a: activity(1, 0),
        b: activity(2, 1),
        c: activity(3, 2),
      });
      const run = testPipeline(saveActivities(redis.client), input);
      // the first 50 ms batch closes at 50 and its pipeline answers at 52
      expectObservable(run.settled).toBe('52ms (abc) 64ms |', { a: 0, b: 1, c: 2 });
      expectObservable(run.committed).toBe('52ms (abc) 64ms |', { a: 1, b: 2, c: 3 });
      expectSubscriptions(input.subscriptions).toBe('^ 120ms !'); // read until it completes, then let go
      flush();
      expect(redis.pipelines).to.deep.equal([
        [
          ['zadd', 'feed:u1', '1700000000001', 'm1'],
          ['zadd', 'feed:u0', '1700000000002', 'm2'],
          ['zadd', 'feed:u1', '1700000000003', 'm3'],
        ],
      ]);
    });
  });

  it('retries a failed write after 100 then 200 ms, and settles the batch when an attempt succeeds', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      let attempts = 0;
      const redis = fakeRedis((commands) =>
        ++attempts < 3 ? cold('--#', {}, new Error('ECONNREFUSED')) : cold('--(r|)', { r: ok(commands) }),
      );
      const input = cold('a 9ms b 200ms |', { a: activity(1, 0), b: activity(2, 1) });
      const run = testPipeline(saveActivities(redis.client, { retry }), input);
      // attempts at 50, 152 (after 100 ms) and 354 (after 200 ms): each answers 2 ms later
      expectObservable(run.settled).toBe('356ms (ab|)', { a: 0, b: 1 });
      expectObservable(run.failed).toBe('356ms |');
      flush();
      expect(redis.pipelines).to.have.length(3);
    });
  });

  it('after its last retry, hands the whole batch to the error policy, and commits nothing', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const redis = fakeRedis(() => cold('--#', {}, new Error('ECONNREFUSED')));
      const input = cold('a 9ms b 200ms |', { a: activity(1, 0), b: activity(2, 1) });
      const run = testPipeline(saveActivities(redis.client, { retry }), input);
      const failure = 'SinkError: redis write failed after 3 attempt(s): ECONNREFUSED';
      expectObservable(run.failed.pipe(map(({ offset, error }) => `${offset} ${String(error)}`))).toBe(
        '356ms (ab|)',
        { a: `0 ${failure}`, b: `1 ${failure}` },
      );
      expectObservable(run.settled).toBe('356ms |');
      expectObservable(run.committed).toBe('356ms |');
    });
  });
});
