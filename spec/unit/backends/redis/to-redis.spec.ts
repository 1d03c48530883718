import { expect } from 'chai';
import { Redis } from 'ioredis';
import { type Observable, bufferTime, firstValueFrom, of, toArray } from 'rxjs';
import { type Message, SinkError } from '../../../../lib/index.js';
import {
  RedisCommandError,
  RedisConnectionError,
  RedisExecAbortedError,
  toRedis,
} from '../../../../lib/redis.js';
import { testPipeline } from '../../../../lib/testing/index.js';
import { allOk, fakeRedis } from '../../../support/fake-redis.js';
import { marbles } from '../../../support/marbles.js';

interface Activity {
  readonly user: string;
  readonly message: string;
  readonly at: number;
}

const activities = { a: act('ann', 'hi', 1), b: act('bob', 'yo', 2), c: act('ann', 'ok', 3) };
function act(user: string, message: string, at: number): Activity {
  return { user, message, at };
}
const ok = allOk;

describe('toRedis', () => {
  it('writes a bufferTime batch in one pipeline and settles it after exec succeeded', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const redis = fakeRedis((commands) => cold('--(r|)', { r: ok(commands) }));
      const run = testPipeline(
        (activity$: Observable<Message<Activity, string | null>>) =>
          activity$.pipe(
            bufferTime(3),
            toRedis(redis.client, ({ value: a }, tx) => tx.zadd(a.user, a.at, a.message)),
          ),
        cold('ab-----c-----|', activities),
      );
      // the window [0,3) holds a and b, written by 5; c's window [6,9) is written by 11
      expectObservable(run.settled).toBe('-----(ab)--c-|', { a: 0, b: 1, c: 2 });
      flush();
      expect(redis.pipelines).to.deep.equal([
        [
          ['zadd', 'ann', '1', 'hi'],
          ['zadd', 'bob', '2', 'yo'],
        ],
        [['zadd', 'ann', '3', 'ok']],
      ]);
    });
  });

  it('checks every exec() tuple: one failed command fails the whole batch, which settles nothing', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const wrongType = Object.assign(new Error('WRONGTYPE Operation against a key'), {
        name: 'ReplyError',
        command: { name: 'zadd', args: [] },
      });
      const redis = fakeRedis(() =>
        cold('-(r|)', {
          r: [
            [null, 1],
            [wrongType, null],
          ],
        }),
      );
      const run = testPipeline(
        (activity$: Observable<Message<Activity, string | null>>) =>
          activity$.pipe(
            bufferTime(2),
            toRedis(redis.client, ({ value: a }, tx) => tx.zadd(a.user, a.at, a.message)),
          ),
        cold('ab|', activities),
      );
      const error = new SinkError('redis', 1, new RedisCommandError(1, wrongType));
      expectObservable(run.settled).toBe('---|');
      expectObservable(run.failed).toBe('---(ab|)', {
        a: { partition: 0, offset: 0, error },
        b: { partition: 0, offset: 1, error },
      });
      flush();
      // a refused command is not retried: one pipeline only
      expect(redis.pipelines).to.have.length(1);
    });
  });

  it('retries a failed exec with backoff in virtual time, then settles', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      let calls = 0;
      const redis = fakeRedis((commands) =>
        ++calls < 3
          ? cold('-#', undefined, new Error('Connection is closed.'))
          : cold('-(r|)', { r: ok(commands) }),
      );
      const run = testPipeline(
        toRedis<ReturnType<typeof redis.client.pipeline>, Message<Activity, string | null>>(
          redis.client,
          ({ value: a }, tx) => tx.zadd(a.user, a.at, a.message),
          { retry: { retries: 5, backoff: { initialDelayMs: 10, jitter: false } } },
        ),
        cold('a|', activities),
      );
      // attempt 1 fails at 1; attempt 2 starts at 11, fails at 12; attempt 3 starts at 32, succeeds at 33
      expectObservable(run.settled).toBe('33ms (a|)', { a: 0 });
      flush();
      expect(calls).to.equal(3);
      expect(redis.pipelines).to.have.length(3);
    });
  });

  it('treats an aborted transaction (exec() → null) as a failed write', () => {
    marbles().run(({ cold, expectObservable }) => {
      const redis = fakeRedis(() => cold('-(r|)', { r: null }));
      const run = testPipeline(
        toRedis<ReturnType<typeof redis.client.pipeline>, Message<Activity, string | null>>(
          redis.client,
          ({ value: a }, tx) => tx.zadd(a.user, a.at, a.message),
          { retry: { retries: 0 } },
        ),
        cold('a|', activities),
      );
      expectObservable(run.settled).toBe('-|');
      expectObservable(run.failed).toBe('-(a|)', {
        a: { partition: 0, offset: 0, error: new SinkError('redis', 1, new RedisExecAbortedError()) },
      });
    });
  });

  it('RedisCommandError: refused commands are permanent, transient replies and connection errors retriable', () => {
    const reply = (text: string) => Object.assign(new Error(text), { name: 'ReplyError' });
    expect(new RedisCommandError(0, reply('WRONGTYPE no')).retriable).to.equal(false);
    expect(new RedisCommandError(0, reply('ERR syntax error')).retriable).to.equal(false);
    expect(new RedisCommandError(0, reply('LOADING Redis is loading')).retriable).to.equal(true);
    expect(new RedisCommandError(0, new Error('Connection is closed.')).retriable).to.equal(true);
    expect(
      new RedisCommandError(2, Object.assign(reply('x'), { command: { name: 'zadd' } })).message,
    ).to.equal('Redis command #2 (zadd) failed: x');
  });

  it('types: accepts an ioredis client and infers the pipeline type (compile-time check)', () => {
    const typed = (redis: Redis) => (activity$: Observable<Message<Activity, string | null>>) =>
      activity$.pipe(
        bufferTime(50),
        toRedis(redis, ({ value: a }, tx) => tx.zadd(a.user, a.at, a.message)),
      );
    expect(typed).to.be.a('function');
  });

  it("listens to a client's 'error' events once, so it never prints Unhandled error event, and keeps the user's listener", () => {
    const bare = new Redis({ lazyConnect: true }); // never connects
    const watched = new Redis({ lazyConnect: true });
    const seen: unknown[] = [];
    watched.on('error', (error) => seen.push(error));
    try {
      expect(bare.listenerCount('error')).to.equal(0);
      toRedis(bare, (_message, tx) => tx.ping());
      toRedis(watched, (_message, tx) => tx.ping());
      expect(bare.listenerCount('error')).to.equal(1);
      // without a listener an EventEmitter throws on 'error' (and ioredis prints "Unhandled error event")
      expect(() => bare.emit('error', new Error('connect ECONNREFUSED'))).not.to.throw();
      const refused = new Error('connect ECONNREFUSED');
      watched.emit('error', refused);
      expect(seen).to.deep.equal([refused]);
      toRedis(bare, (_message, tx) => tx.ping()); // a second sink on the same client adds nothing
      expect(bare.listenerCount('error')).to.equal(1);
    } finally {
      bare.disconnect();
      watched.disconnect();
    }
  });

  it('a write of a disconnected client fails with RedisConnectionError naming why the connection fails', async () => {
    const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      const run = testPipeline(
        (source: Observable<Message<string, string | null>>) =>
          source.pipe(toRedis(client, ({ value }, tx) => tx.set('k', value), { retry: { retries: 0 } })),
        of('v'),
      );
      const [failure] = await firstValueFrom(run.failed.pipe(toArray()));
      const error = (failure!.error as SinkError).cause;
      expect(error).to.be.instanceOf(RedisConnectionError);
      expect((error as Error).message).to.match(/ECONNREFUSED 127\.0\.0\.1:1/);
      expect((error as SinkError).retriable).to.equal(true);
    } finally {
      client.disconnect();
    }
  });
});
