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

/**
 * The frames of the actions still scheduled after the current frame (a closed action is skipped by
 * the flush): read inside `run` to see that a teardown cancelled its timers.
 */
export function dueFrames(scheduler: TestScheduler): number[] {
  return scheduler.actions
    .filter((action) => !action.closed && action.delay > scheduler.frame)
    .map((action) => action.delay);
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

/** A seeded generator of numbers in [0, 1) (mulberry32): the same numbers on every run, for jitter. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
