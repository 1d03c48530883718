import { expect } from 'chai';
import { type Observable, bufferCount, delay, map } from 'rxjs';
import {
  type Message,
  combineMessages,
  createMessage,
  failMessage,
  isMessage,
  mapValue,
} from '../../../lib/index.js';
import { testPipeline } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

const sumOf = (batch: readonly Message<number, string | null>[]) =>
  combineMessages(
    batch,
    batch.reduce((sum, message) => sum + message.value, 0),
  );

describe('combineMessages', () => {
  it('one aggregate stands for its whole batch: settling it settles every record of the batch', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        (source: Observable<Message<number, string | null>>) =>
          source.pipe(bufferCount(2), map(sumOf), delay(1)),
        cold('a-b-c-d-------|', { a: 1, b: 2, c: 3, d: 4 }),
      );
      // the aggregate takes the position of the batch's last message
      expectObservable(run.output.pipe(map((m) => [m.offset, m.value]))).toBe('---x---y------|', {
        x: [1, 3],
        y: [3, 7],
      });
      expectObservable(run.settled).toBe('---(ab)(cd)---|', { a: 0, b: 1, c: 2, d: 3 });
      expectObservable(run.committed).toBe('---(ab)(cd)---|', { a: 1, b: 2, c: 3, d: 4 });
    });
  });

  it('failing the aggregate sends every record of the batch to the error policy, and nothing is committed', () => {
    marbles().run(({ cold, expectObservable }) => {
      const error = new Error('aggregate rejected');
      const run = testPipeline(
        (source: Observable<Message<number, string | null>>) =>
          source.pipe(
            bufferCount(2),
            map(sumOf),
            mapValue((sum) => {
              if (sum > 2) throw error;
              return sum;
            }),
          ),
        cold('ab---|', { a: 1, b: 2 }),
      );
      expectObservable(run.failed).toBe('-(ab)|', {
        a: { partition: 0, offset: 0, error },
        b: { partition: 0, offset: 1, error },
      });
      expectObservable(run.committed).toBe('-----|');
    });
  });

  it('refuses an empty batch, and hand-made messages carry no lineage (settling or failing them does nothing)', () => {
    expect(() => combineMessages([], 0)).to.throw(RangeError);
    const message = createMessage({ topic: 't', value: 1 });
    expect(isMessage(message)).to.equal(true);
    expect(isMessage({ value: 1 })).to.equal(false);
    expect(() => failMessage(message, new Error('ignored'))).not.to.throw();
  });
});
