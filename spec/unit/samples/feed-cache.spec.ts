import { expect } from 'chai';
import { type Observable, map } from 'rxjs';
import type { SinkError } from '../../../lib/index.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import { type Activity, saveActivities } from '../../../samples/feed-cache/feed-cache.js';
import { marbles } from '../../support/marbles.js';

const activity = (n: number, user = `u${n % 2}`): Activity => ({
  user,
  message: `m${n}`,
  timestamp: new Date(1_700_000_000_000 + n),
});

/** A fake Redis: records the ZADDs of each pipeline; `exec` answers with the given cold observable. */
function fakeRedis(exec: () => Observable<[Error | null, unknown][]>) {
  const pipelines: [string, number, string][][] = [];
  return {
    pipelines,
    client: {
      pipeline() {
        const commands: [string, number, string][] = [];
        pipelines.push(commands);
        const pipeline = {
          zadd: (key: string, score: number, member: string) => commands.push([key, score, member]),
          exec,
        };
        return pipeline;
      },
    },
  };
}

describe('sample: feed cache (marbles)', () => {
  it('writes each 50 ms batch as one pipeline of ZADD feed:<user> <time> <message> and settles it as a whole', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const redis = fakeRedis(() => cold('--(r|)', { r: [[null, 1]] }));
      const input = cold('a 9ms b 9ms c 100ms |', {
        a: testMessage(activity(1), { offset: 0 }),
        b: testMessage(activity(2), { offset: 1 }),
        c: testMessage(activity(3), { offset: 2 }),
      });
      const run = testPipeline(saveActivities(redis.client), input);
      // the first 50 ms window closes at 50 and its pipeline answers at 52
      expectObservable(run.settled).toBe('52ms (abc) 64ms |', { a: 0, b: 1, c: 2 });
      flush();
      expect(redis.pipelines).to.deep.equal([
        [
          ['feed:u1', 1_700_000_000_001, 'm1'],
          ['feed:u0', 1_700_000_000_002, 'm2'],
          ['feed:u1', 1_700_000_000_003, 'm3'],
        ],
      ]);
    });
  });

  it('a ZADD that Redis refuses fails the whole batch: nothing is settled or committed', () => {
    marbles().run(({ cold, expectObservable }) => {
      // as ioredis reports a command Redis refused
      const wrongType = Object.assign(
        new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
        {
          name: 'ReplyError',
        },
      );
      const redis = fakeRedis(() =>
        cold('-(r|)', {
          r: [
            [null, 1],
            [wrongType, null],
          ],
        }),
      );
      const run = testPipeline(
        saveActivities(redis.client),
        cold('ab 60ms |', { a: activity(1), b: activity(2) }),
      );
      expectObservable(run.settled).toBe('62ms |');
      expectObservable(run.committed).toBe('62ms |');
      expectObservable(run.failed.pipe(map((f) => [f.offset, (f.error as SinkError).retriable]))).toBe(
        '51ms (ab) 7ms |',
        { a: [0, false], b: [1, false] },
      );
    });
  });
});
