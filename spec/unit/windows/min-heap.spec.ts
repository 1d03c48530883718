import { expect } from 'chai';
import fc from 'fast-check';
import { MinHeap } from '../../../lib/windows/min-heap.js';

describe('MinHeap', () => {
  it('is empty at first: size 0, peek and pop undefined', () => {
    const heap = new MinHeap();
    expect(heap.size).to.equal(0);
    expect(heap.peek()).to.equal(undefined);
    expect(heap.pop()).to.equal(undefined);
    expect(heap.size).to.equal(0);
  });

  it('peeks the smallest without removing it; pops in ascending order, duplicates and negatives included', () => {
    const heap = new MinHeap();
    for (const n of [5, 3, 8, 3, -2, 10, 0]) heap.push(n);
    expect(heap.size).to.equal(7);
    expect(heap.peek()).to.equal(-2);
    expect(heap.size).to.equal(7);
    const popped: (number | undefined)[] = [];
    while (heap.size > 0) popped.push(heap.pop());
    expect(popped).to.deep.equal([-2, 0, 3, 3, 5, 8, 10]);
    expect(heap.pop()).to.equal(undefined);
  });

  it('any interleaving of pushes and pops gives what a sorted list gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant<'pop'>('pop')), { maxLength: 200 }),
        (ops) => {
          const heap = new MinHeap();
          const model: number[] = [];
          for (const op of ops) {
            if (op === 'pop') {
              model.sort((a, b) => a - b);
              expect(heap.pop()).to.equal(model.shift());
            } else {
              heap.push(op);
              model.push(op);
            }
            expect(heap.size).to.equal(model.length);
            expect(heap.peek()).to.equal(model.length ? Math.min(...model) : undefined);
          }
        },
      ),
    );
  });
});
