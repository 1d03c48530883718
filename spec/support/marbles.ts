import { expect } from 'chai';
import { type OperatorFunction, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Message } from '../../lib/index.js';

/** A TestScheduler that compares with chai's deep equality. */
export function marbles(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/** The fields of a message that marble tests compare. */
export function fields<T, K>(): OperatorFunction<
  Message<T, K>,
  { key: K; partition: number; offset: number; value: T }
> {
  return map((message) => ({
    key: message.key,
    partition: message.partition,
    offset: message.offset,
    value: message.value,
  }));
}
