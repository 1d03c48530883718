import { expect } from 'chai';
import { map } from 'rxjs';
import type { Message } from '../../../../lib/index.js';
import { RedisCommandError, lookupRedis } from '../../../../lib/redis.js';
import { testPipeline } from '../../../../lib/testing/index.js';
import { marbles } from '../../../support/marbles.js';

type Key = Message<string, string | null>;

describe('lookupRedis', () => {
  it('emits each message enriched with the result, at most `concurrency` lookups at once', () => {
    marbles().run(({ cold, expectObservable }) => {
      // u1 answers after 1 frame, u2 after 5, u3 after 2: with 2 in flight, u3 starts when u1 is done
      const replies: Record<string, string> = { u1: '-(r|)', u2: '-----(r|)', u3: '--(r|)' };
      const fake = { hget: (key: string, field: string) => cold(replies[key]!, { r: `${key}.${field}` }) };
      const run = testPipeline(
        lookupRedis(fake, ({ value }: Key, redis) => redis.hget(value, 'name'), { concurrency: 2 }),
        cold('(abc|)', { a: 'u1', b: 'u2', c: 'u3' }),
      );
      expectObservable(run.output.pipe(map((message) => [message.offset, message.value]))).toBe('-a-c-(b|)', {
        a: [0, { input: 'u1', result: 'u1.name' }],
        b: [1, { input: 'u2', result: 'u2.name' }],
        c: [2, { input: 'u3', result: 'u3.name' }],
      });
      expectObservable(run.committed).toBe('-a---(b|)', { a: 1, b: 3 });
    });
  });

  it('projects with `combine`', () => {
    marbles().run(({ cold, expectObservable }) => {
      const fake = { get: (key: string) => cold('-(r|)', { r: key.length }) };
      const run = testPipeline(
        lookupRedis(fake, ({ value }: Key, redis) => redis.get(value), {
          combine: (user, length) => `${user}:${length}`,
        }),
        cold('a|', { a: 'ann' }),
      );
      expectObservable(run.output.pipe(map((message) => message.value))).toBe('-(a|)', { a: 'ann:3' });
    });
  });

  it('a command Redis refuses fails the message with a non-retriable RedisCommandError', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const wrongType = Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' });
      const fake = { zrange: () => cold<string[]>('-#', undefined, wrongType) };
      const run = testPipeline(
        lookupRedis(fake, (_message: Key, redis) => redis.zrange()),
        cold('a|', { a: 'u1' }),
      );
      const failures: unknown[] = [];
      run.failed.subscribe((failure) => failures.push(failure.error));
      expectObservable(run.settled).toBe('-|');
      flush();
      expect(failures).to.have.length(1);
      expect(failures[0]).to.be.instanceOf(RedisCommandError).with.property('retriable', false);
    });
  });
});
