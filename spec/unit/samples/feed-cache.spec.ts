import { expect } from 'chai';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import { type Activity, saveActivities } from '../../../samples/feed-cache/feed-cache.js';
import { allOk, fakeRedis } from '../../support/fake-redis.js';
import { marbles } from '../../support/marbles.js';

const activity = (n: number, user = `u${n % 2}`): Activity => ({
  user,
  message: `m${n}`,
  timestamp: new Date(1_700_000_000_000 + n),
});

describe('sample: feed cache (marbles)', () => {
  it('writes each 50 ms batch as one pipeline of ZADD feed:<user> <time> <message> and settles it as a whole', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const redis = fakeRedis((commands) => cold('--(r|)', { r: allOk(commands) }));
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
          ['zadd', 'feed:u1', '1700000000001', 'm1'],
          ['zadd', 'feed:u0', '1700000000002', 'm2'],
          ['zadd', 'feed:u1', '1700000000003', 'm3'],
        ],
      ]);
    });
  });
});
