import { mapValue } from '../../../lib/index.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import { fields, marbles } from '../../support/marbles.js';

describe('mapValue', () => {
  it('maps values, keeps key and position, and the mapped message settles the record', () => {
    marbles().run(({ cold, expectObservable }) => {
      const input = cold('a-b|', {
        a: testMessage(2, { key: 'k1', offset: 5 }),
        b: testMessage(3, { key: 'k2', offset: 6 }),
      });
      const run = testPipeline(
        mapValue((n: number) => n * 10),
        input,
      );
      expectObservable(run.output.pipe(fields())).toBe('a-b|', {
        a: { key: 'k1', partition: 0, offset: 5, value: 20 },
        b: { key: 'k2', partition: 0, offset: 6, value: 30 },
      });
      expectObservable(run.settled).toBe('a-b|', { a: 5, b: 6 });
    });
  });

  it('sends a message whose projection throws to the error policy and goes on with the next', () => {
    marbles().run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      const run = testPipeline(
        mapValue((n: number) => {
          if (n === 2) throw boom;
          return n;
        }),
        cold('a-b-c|', { a: 1, b: 2, c: 3 }),
      );
      expectObservable(run.settled).toBe('a---c|', { a: 0, c: 2 });
      expectObservable(run.failed).toBe('--b--|', { b: { partition: 0, offset: 1, error: boom } });
      // offset 1 failed and is not settled: the committable offset stays at 1
      expectObservable(run.committed).toBe('a----|', { a: 1 });
    });
  });
});
