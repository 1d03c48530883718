import { mergeMapValue } from '../../../lib/index.js';
import { testPipeline } from '../../../lib/testing/index.js';
import { fields, marbles } from '../../support/marbles.js';

describe('mergeMapValue', () => {
  it('completes out of order under concurrency but commits only the contiguous settled prefix', () => {
    marbles().run(({ cold, expectObservable }) => {
      const durations: Record<number, string> = { 0: '----(x|)', 1: '-(x|)', 2: '--(x|)' };
      const run = testPipeline(
        mergeMapValue((n: number) => cold(durations[n]!, { x: n * 100 }), { concurrency: 3 }),
        cold('abc|', { a: 0, b: 1, c: 2 }),
      );
      expectObservable(run.settled).toBe('--b-(ac|)', { a: 0, b: 1, c: 2 });
      expectObservable(run.committed).toBe('----(ab|)', { a: 2, b: 3 });
    });
  });

  it('holds messages beyond the concurrency limit until a slot frees', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        mergeMapValue((n: number) => cold('--(x|)', { x: n }), { concurrency: 1 }),
        cold('(abc|)', { a: 0, b: 1, c: 2 }),
      );
      expectObservable(run.settled).toBe('--a-b-(c|)', { a: 0, b: 1, c: 2 });
    });
  });

  it('fans out: the record settles only when the step completed and every emitted message settled', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        mergeMapValue((word: string) => cold('a-b-|', { a: `${word}1`, b: `${word}2` })),
        cold('x|', { x: 'w' }),
      );
      expectObservable(run.output.pipe(fields())).toBe('a-b-|', {
        a: { key: null, partition: 0, offset: 0, value: 'w1' },
        b: { key: null, partition: 0, offset: 0, value: 'w2' },
      });
      expectObservable(run.settled).toBe('----(a|)', { a: 0 });
    });
  });

  it('settles a message whose step yields nothing, and fails one whose step errors', () => {
    marbles().run(({ cold, expectObservable }) => {
      const error = new Error('lookup failed');
      const run = testPipeline(
        mergeMapValue((n: number) => (n === 0 ? cold('-|') : cold<number>('--#', undefined, error))),
        cold('ab|', { a: 0, b: 1 }),
      );
      expectObservable(run.settled).toBe('-a-|', { a: 0 });
      expectObservable(run.failed).toBe('---(f|)', { f: { partition: 0, offset: 1, error } });
    });
  });
});
