import { expect } from 'chai';
import { NEVER, type Observable, bufferTime, firstValueFrom, of } from 'rxjs';
import { type Message, SinkError, SinkTimeoutError, sink } from '../../../lib/index.js';
import { testPipeline } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

describe('sink', () => {
  it('settles a bufferTime batch as a whole once its write completes (virtual time)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const writes: number[][] = [];
      const write = sink<number, unknown>(
        (batch) => {
          writes.push(batch.map((message) => message.value));
          return cold('--(x|)');
        },
        { name: 'test' },
      );
      const run = testPipeline(
        (source: Observable<Message<number, unknown>>) => source.pipe(bufferTime(4), write),
        cold('ab-c---------|', { a: 1, b: 2, c: 3 }),
      );
      // the batch [1,2,3] closes at frame 4 and is written by frame 6; later empty windows write nothing
      expectObservable(run.settled).toBe('------(abc)--|', { a: 0, b: 1, c: 2 });
      expectObservable(run.committed).toBe('------(abc)--|', { a: 1, b: 2, c: 3 });
    });
  });

  it('a failed batch settles nothing: every message of it goes to the error policy', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      let attempts = 0;
      const failing = sink<number, unknown>(
        () => {
          attempts++;
          return cold('-#', undefined, new Error('down'));
        },
        { name: 'down', retry: { retries: 2, backoff: { initialDelayMs: 10, jitter: false } } },
      );
      const run = testPipeline(
        (source: Observable<Message<number, unknown>>) => source.pipe(bufferTime(2), failing),
        cold('ab--|', { a: 1, b: 2 }),
      );
      // closes at 2; attempts fail at 3, 14 (after 10), 35 (after 20): then both messages fail together
      const failure = (offset: number) => ({
        partition: 0,
        offset,
        error: new SinkError('down', 3, new Error('down')),
      });
      expectObservable(run.settled).toBe('35ms |');
      expectObservable(run.failed).toBe('35ms (ab|)', { a: failure(0), b: failure(1) });
      expectObservable(run.committed).toBe('35ms |');
      flush();
      expect(attempts).to.equal(3);
    });
  });

  it('times out an attempt that never answers (timeoutMs), retries it, then fails the batch with SinkTimeoutError', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      let attempts = 0;
      const hanging = sink<number, unknown>(
        () => {
          attempts++;
          return NEVER;
        },
        {
          name: 'hangs',
          timeoutMs: 5,
          retry: { retries: 1, backoff: { initialDelayMs: 10, jitter: false } },
        },
      );
      const run = testPipeline(
        (source: Observable<Message<number, unknown>>) => source.pipe(hanging),
        cold('a|', { a: 1 }),
      );
      // attempt 1 from 0 times out at 5; after 10, attempt 2 from 15 times out at 20
      const failure = {
        partition: 0,
        offset: 0,
        error: new SinkError('hangs', 2, new SinkTimeoutError('hangs', 5)),
      };
      expectObservable(run.failed).toBe('20ms (a|)', { a: failure });
      expectObservable(run.settled).toBe('20ms |');
      flush();
      expect(attempts).to.equal(2);
    });
  });

  it('gathers messages that arrive during a write into the next write', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const writes: number[][] = [];
      const write = sink<number, unknown>(
        (batch) => {
          writes.push(batch.map((message) => message.value));
          return cold('---(x|)');
        },
        { name: 'gather' },
      );
      const run = testPipeline(write, cold('abcd|', { a: 1, b: 2, c: 3, d: 4 }));
      expectObservable(run.settled).toBe('---a--(bcd|)', { a: 0, b: 1, c: 2, d: 3 });
      flush();
      expect(writes).to.deep.equal([[1], [2, 3, 4]]);
    });
  });

  it('does not retry an error that says it is not retriable', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      let attempts = 0;
      const rejected = Object.assign(new Error('400'), { retriable: false });
      const write = sink<number, unknown>(
        () => {
          attempts++;
          return cold('-#', undefined, rejected);
        },
        { name: 'http', retry: { retries: 5 } },
      );
      const run = testPipeline(write, cold('a|', { a: 1 }));
      expectObservable(run.failed).toBe('-(a|)', {
        a: { partition: 0, offset: 0, error: new SinkError('http', 1, rejected) },
      });
      flush();
      expect(attempts).to.equal(1);
    });
  });

  it('infers its message type from the pipeline, like the other sinks (compile-time check)', async () => {
    // Without inference `m.value` would be `unknown` here and `npm run typecheck` would fail.
    const ids: number[][] = [];
    const pipeline = (source: Observable<Message<{ readonly id: number }, string | null>>) =>
      source.pipe(
        sink(
          async (batch) => {
            ids.push(batch.map((m) => m.value.id));
          },
          { name: 'typed' },
        ),
      );
    const run = testPipeline(pipeline, of({ id: 7 }));
    expect(await firstValueFrom(run.settled)).to.equal(0);
    expect(ids).to.deep.equal([[7]]);
  });
});
