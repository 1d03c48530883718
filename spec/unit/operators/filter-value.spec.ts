import { delay, map } from 'rxjs';
import { filterValue } from '../../../lib/index.js';
import { testPipeline } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

describe('filterValue', () => {
  it('settles dropped messages on purpose so that commits pass them', () => {
    marbles().run(({ cold, expectObservable }) => {
      // kept messages take 5 frames downstream; dropped ones settle at once
      const run = testPipeline(
        (source) =>
          source.pipe(
            filterValue((n: number) => n % 2 === 1),
            delay(5),
          ),
        cold('abc|', { a: 1, b: 2, c: 3 }),
      );
      expectObservable(run.settled).toBe('-b---a-(c|)', { a: 0, b: 1, c: 2 });
      // offset 1 settled first but cannot be committed before offset 0
      expectObservable(run.committed).toBe('-----a-(c|)', { a: 2, c: 3 });
    });
  });

  it('narrows the value type with a type guard and fails a message whose predicate throws', () => {
    marbles().run(({ cold, expectObservable }) => {
      const bad = new TypeError('not a number');
      const isNumber = (value: unknown): value is number => {
        if (value === null) throw bad;
        return typeof value === 'number';
      };
      const run = testPipeline(filterValue(isNumber), cold('a-b-c|', { a: 1, b: 'x', c: null }));
      expectObservable(run.output.pipe(map((message) => message.value.toFixed(1)))).toBe('a----|', {
        a: '1.0',
      });
      expectObservable(run.settled).toBe('a-b--|', { a: 0, b: 1 });
      expectObservable(run.failed).toBe('----c|', { c: { partition: 0, offset: 2, error: bad } });
    });
  });
});
