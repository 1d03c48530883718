import { expect } from 'chai';
import fc from 'fast-check';
import { collect, count, hopping, sliding, sum, tumbling, type WindowSpec } from '../../../lib/index.js';
import { earliestEnd, windowsOf } from '../../../lib/windows/window-spec.js';
import {
  type KeyWindows,
  addEvent,
  expiresAt,
  plainWindows,
  prune,
  removeWindow,
} from '../../../lib/windows/key-windows.js';

type Events = readonly (readonly [time: number, value: string])[];

/** The key's state after adding `events` (time, value) in order, each at the watermark given. */
function build(
  spec: WindowSpec,
  events: Events,
  watermark = Number.NEGATIVE_INFINITY,
): KeyWindows<string[], unknown> | undefined {
  let state: KeyWindows<string[], unknown> | undefined;
  for (const [t, v] of events) state = addEvent(state, spec, collect<string>(), t, v, watermark);
  return state;
}

/** Freezes a state deeply, so any change made in place throws. */
function frozen<A, T>(state: KeyWindows<A, T>): KeyWindows<A, T> {
  for (const w of state.w) {
    if (Array.isArray(w[2])) Object.freeze(w[2]);
    Object.freeze(w);
  }
  Object.freeze(state.w);
  for (const e of state.ev ?? []) Object.freeze(e);
  if (state.ev) Object.freeze(state.ev);
  return Object.freeze(state);
}

describe('key windows', () => {
  describe('addEvent (tumbling, hopping)', () => {
    it('tumbling: creates the window, then adds to it; keeps no events', () => {
      const spec = tumbling(10);
      let state = addEvent(undefined, spec, count(), 3, 'a', Number.NEGATIVE_INFINITY);
      expect(state).to.deep.equal({ w: [[0, 10, 1]] });
      state = addEvent(state, spec, count(), 9, 'b', 0);
      state = addEvent(state, spec, count(), 10, 'c', 0);
      expect(state).to.deep.equal({
        w: [
          [0, 10, 2],
          [10, 20, 1],
        ],
      });
    });

    it('keeps windows ordered by end even when an older window is created later', () => {
      const state = build(tumbling(10), [
        [25, 'a'],
        [3, 'b'],
        [14, 'c'],
      ]);
      expect(state!.w.map(([s, e]) => [s, e])).to.deep.equal([
        [0, 10],
        [10, 20],
        [20, 30],
      ]);
    });

    it('hopping: each event goes to all size / step windows, and each window carries all of its events', () => {
      const state = build(hopping(10, 5), [
        [1, 'a'],
        [6, 'b'],
        [12, 'c'],
        [8, 'd'],
      ]);
      expect(state).to.deep.equal({
        w: [
          [-5, 5, ['a']],
          [0, 10, ['a', 'b', 'd']],
          [5, 15, ['b', 'c', 'd']],
          [10, 20, ['c']],
        ],
      });
    });

    it('hopping where the step does not divide the size (10, 4): each window holds exactly its events', () => {
      const events: Events = [
        [0, 'a'],
        [3, 'b'],
        [5, 'c'],
        [9, 'd'],
        [11, 'e'],
      ];
      const state = build(hopping(10, 4), events)!;
      for (const [start, end, values] of state.w)
        expect(values, `[${start}, ${end})`).to.deep.equal(
          events.filter(([t]) => start <= t && t < end).map(([, v]) => v),
        );
      expect(state.w.map(([s]) => s)).to.deep.equal([-8, -4, 0, 4, 8]);
    });

    it('never changes the state it is given (the table keeps the old value until the change is durable)', () => {
      const before = frozen(build(hopping(10, 5), [[1, 'a']])!);
      const after = addEvent(before, hopping(10, 5), collect<string>(), 2, 'b', 0);
      expect(before.w).to.deep.equal([
        [-5, 5, ['a']],
        [0, 10, ['a']],
      ]);
      expect(after.w).to.deep.equal([
        [-5, 5, ['a', 'b']],
        [0, 10, ['a', 'b']],
      ]);
    });
  });

  describe('addEvent (sliding)', () => {
    it('keeps per event only what the aggregate picks of the record (its `event`), not the whole value', () => {
      const qty = sum((order: { qty: number; note: string }) => order.qty);
      const first = addEvent(undefined, sliding(10), qty, 5, { qty: 3, note: 'x'.repeat(200) }, -Infinity);
      const second = addEvent(first, sliding(10), qty, 7, { qty: 4, note: 'y'.repeat(200) }, -Infinity);
      expect(second).to.deep.equal({
        w: [
          [-4, 6, 3],
          [-2, 8, 7],
        ],
        ev: [
          [5, 3],
          [7, 4],
        ],
      });
    });

    it('makes a window per event time, [t - size + 1, t + 1), from the key’s recent events', () => {
      const state = build(sliding(10), [
        [1, 'a'],
        [5, 'b'],
        [12, 'c'],
      ]);
      expect(state!.w).to.deep.equal([
        [-8, 2, ['a']],
        [-4, 6, ['a', 'b']],
        [3, 13, ['b', 'c']], // 1 is 11 ms before 12: out of a 10 ms window
      ]);
      expect(state!.ev).to.deep.equal([
        [1, 'a'],
        [5, 'b'],
        [12, 'c'],
      ]);
    });

    it('the window boundary: an event exactly size ms earlier is out, size - 1 ms earlier is in', () => {
      const state = build(sliding(10), [
        [0, 'old'],
        [1, 'in'],
        [10, 'now'],
      ]);
      expect(state!.w.at(-1)).to.deep.equal([1, 11, ['in', 'now']]);
    });

    it('an out-of-order event (within grace) gets its own window and joins the later windows that cover it', () => {
      // watermark 10 (e.g. max time 15, grace 5): 12 is not late
      const state = build(sliding(10), [
        [10, 'a'],
        [15, 'b'],
      ]);
      const next = addEvent(state, sliding(10), collect<string>(), 12, 'c', 10);
      expect(next.w).to.deep.equal([
        [1, 11, ['a']], // ends before 12: unchanged
        [3, 13, ['a', 'c']], // its own window, built from the events kept
        [6, 16, ['a', 'b', 'c']], // a later window covering 12
      ]);
      expect(next.ev).to.deep.equal([
        [10, 'a'],
        [15, 'b'],
        [12, 'c'],
      ]);
    });

    it('a second event at the same time joins the existing window instead of making another', () => {
      const state = build(sliding(10), [
        [4, 'a'],
        [4, 'b'],
      ]);
      expect(state!.w).to.deep.equal([[-5, 5, ['a', 'b']]]);
      expect(state!.ev).to.have.length(2);
    });

    it('drops the events at or before watermark - size (no new window can hold them), keeps later ones', () => {
      const state = build(sliding(10), [
        [1, 'a'],
        [2, 'b'],
      ]);
      // watermark 12: an event that is not late is at ≥ 12, its window starts at ≥ 3: 1 and 2 can't be in it
      const next = addEvent(state, sliding(10), collect<string>(), 13, 'c', 12);
      expect(next.ev).to.deep.equal([[13, 'c']]);
      const kept = addEvent(state, sliding(10), collect<string>(), 13, 'c', 11);
      expect(kept.ev).to.deep.equal([
        [2, 'b'],
        [13, 'c'],
      ]);
      expect(kept.w.at(-1)).to.deep.equal([4, 14, ['c']]); // 2 is not in [4, 14) even though kept
    });
  });

  describe('removeWindow', () => {
    it('removes exactly [start, end) and leaves the others', () => {
      const state = build(hopping(10, 5), [[6, 'a']])!;
      expect(removeWindow(state, hopping(10, 5), 0, 10, 10)).to.deep.equal({ w: [[5, 15, ['a']]] });
      expect(removeWindow(state, hopping(10, 5), 0, 15, 10)).to.deep.equal(state); // no such window
      expect(removeWindow(state, hopping(10, 5), 5, 10, 10)).to.deep.equal(state);
    });

    it('is undefined (a tombstone) when nothing is left, and for no state', () => {
      const state = build(tumbling(10), [[6, 'a']])!;
      expect(removeWindow(state, tumbling(10), 0, 10, 10)).to.equal(undefined);
      expect(removeWindow(undefined, tumbling(10), 0, 10, 10)).to.equal(undefined);
    });

    it('sliding: also drops expired events; keeps the ones a new window may still need', () => {
      const state = build(sliding(10), [
        [1, 'a'],
        [5, 'b'],
      ])!;
      const next = removeWindow(state, sliding(10), -8, 2, 12);
      expect(next).to.deep.equal({ w: [[-4, 6, ['a', 'b']]], ev: [[5, 'b']] });
      expect(removeWindow(next, sliding(10), -4, 6, 15)).to.equal(undefined);
    });

    it('never changes the state it is given', () => {
      const state = frozen(build(sliding(10), [[1, 'a']])!);
      removeWindow(state, sliding(10), -8, 2, 100);
      expect(state.w).to.have.length(1);
      expect(state.ev).to.have.length(1);
    });
  });

  describe('prune', () => {
    it('keeps events after watermark - size, and the windows as they are', () => {
      const state: KeyWindows<number, string> = {
        w: [[3, 13, 2]],
        ev: [
          [1, 'a'],
          [2, 'b'],
          [12, 'c'],
        ],
      };
      expect(prune(state, sliding(10), 11)).to.deep.equal({
        w: [[3, 13, 2]],
        ev: [
          [2, 'b'],
          [12, 'c'],
        ],
      });
      expect(prune(state, sliding(10), 12)).to.deep.equal({ w: [[3, 13, 2]], ev: [[12, 'c']] });
    });

    it('drops an empty event list; undefined when neither windows nor events are left', () => {
      const state: KeyWindows<number, string> = { w: [[3, 13, 2]], ev: [[1, 'a']] };
      expect(prune(state, sliding(10), 50)).to.deep.equal({ w: [[3, 13, 2]] });
      expect(prune({ w: [], ev: [[1, 'a']] }, sliding(10), 11)).to.equal(undefined);
      expect(prune({ w: [], ev: [[1, 'a']] }, sliding(10), 10)).to.deep.equal({ w: [], ev: [[1, 'a']] });
      expect(prune({ w: [] }, tumbling(10), 0)).to.equal(undefined);
      expect(prune({ w: [[0, 10, 1]] }, tumbling(10), 100)).to.deep.equal({ w: [[0, 10, 1]] });
    });
  });

  describe('expiresAt', () => {
    it('no events: nothing expires (tumbling and hopping keep none)', () => {
      expect(expiresAt({ w: [[0, 10, 1]] }, tumbling(10))).to.equal(undefined);
      expect(expiresAt({ w: [], ev: [] }, sliding(10))).to.equal(undefined);
    });

    it('the latest event time + size, whatever the order events were kept in', () => {
      const state: KeyWindows<number, string> = {
        w: [],
        ev: [
          [12, 'a'],
          [20, 'b'],
          [15, 'c'],
        ],
      };
      expect(expiresAt(state, sliding(10))).to.equal(30);
      // at that watermark prune drops them all; one ms earlier it keeps the latest
      expect(prune(state, sliding(10), 30)).to.equal(undefined);
      expect(prune(state, sliding(10), 29)).to.deep.equal({ w: [], ev: [[20, 'b']] });
    });

    it('negative times', () => {
      expect(expiresAt({ w: [], ev: [[-25, 'a']] }, sliding(10))).to.equal(-15);
    });
  });

  describe('plainWindows', () => {
    it('holds when every aggregate and every event kept is a JSON primitive, not when one is an object', () => {
      const plain = (state: KeyWindows<unknown, unknown>): boolean => plainWindows(state);
      expect(
        plain({
          w: [
            [0, 10, 3],
            [5, 15, 'x'],
          ],
          ev: [
            [1, true],
            [2, null],
          ],
        }),
      ).to.equal(true);
      expect(
        plain({
          w: [
            [0, 10, 3],
            [5, 15, [3]],
          ],
        }),
      ).to.equal(false);
      expect(
        plain({
          w: [[0, 10, 3]],
          ev: [
            [1, 2],
            [2, { qty: 1 }],
          ],
        }),
      ).to.equal(false);
      expect(plain({ w: [[0, 10, 3n]] })).to.equal(false); // JSON cannot encode a bigint
    });
  });

  describe('addEvent against a brute-force model', () => {
    it('any arrival order within grace: every window holds exactly the accepted events in it; one window per event time (sliding)', () => {
      fc.assert(
        fc.property(
          fc.constantFrom<WindowSpec>(tumbling(5), hopping(10, 5), hopping(10, 4), hopping(7, 7), sliding(6)),
          fc.integer({ min: 0, max: 8 }),
          fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
          (spec, grace, times) => {
            let state: KeyWindows<string[], unknown> | undefined;
            let maxTime = Number.NEGATIVE_INFINITY;
            const accepted: [number, string][] = [];
            times.forEach((t, i) => {
              const watermark = maxTime - grace;
              if (earliestEnd(spec, t) <= watermark) return; // late: the operator sends it to no window
              state = addEvent(state, spec, collect<string>(), t, `e${i}`, watermark);
              maxTime = Math.max(maxTime, t);
              accepted.push([t, `e${i}`]);
            });
            for (const [start, end, values] of state?.w ?? [])
              expect(values, `[${start}, ${end})`).to.deep.equal(
                accepted.filter(([t]) => start <= t && t < end).map(([, v]) => v),
              );
            const ends = (state?.w ?? []).map(([, e]) => e);
            expect(ends, 'ordered by end').to.deep.equal([...ends].sort((a, b) => a - b));
            const made = (state?.w ?? []).map(([s, e]) => `${s},${e}`);
            const wanted = new Set(
              accepted
                .flatMap(([t]) =>
                  spec.kind === 'sliding' ? [[t - spec.size + 1, t + 1]] : windowsOf(spec, t),
                )
                .map(([s, e]) => `${s + 0},${e + 0}`),
            );
            expect(made).to.have.members([...wanted]);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
