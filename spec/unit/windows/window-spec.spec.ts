import { expect } from 'chai';
import fc from 'fast-check';
import { ConfigurationError, hopping, sliding, tumbling, type WindowSpec } from '../../../lib/index.js';
import { earliestEnd, windowsOf } from '../../../lib/windows/window-spec.js';

/** Every window of a tumbling or hopping spec holding `t`, found by walking all starts near it. */
function oracle(spec: WindowSpec, t: number): [number, number][] {
  const windows: [number, number][] = [];
  const from = Math.floor((t - spec.size) / spec.step) * spec.step - spec.step;
  for (let start = from; start <= t + spec.step; start += spec.step)
    if (start <= t && t < start + spec.size) windows.push([start, start + spec.size]);
  return windows;
}

/** `-0` and `0` are the same instant; chai's deep equality tells them apart. */
const plain = (windows: [number, number][]): [number, number][] => windows.map(([s, e]) => [s + 0, e + 0]);

describe('window specs', () => {
  describe('tumbling, hopping, sliding', () => {
    it('describe their windows', () => {
      expect(tumbling(10)).to.deep.equal({ kind: 'tumbling', size: 10, step: 10 });
      expect(hopping(10, 5)).to.deep.equal({ kind: 'hopping', size: 10, step: 5 });
      expect(hopping(10, 10)).to.deep.equal({ kind: 'hopping', size: 10, step: 10 });
      expect(sliding(10)).to.deep.equal({ kind: 'sliding', size: 10, step: 1 });
      expect(tumbling(1).size).to.equal(1);
    });

    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      it(`refuse a length of ${bad} with ConfigurationError naming it`, () => {
        expect(() => tumbling(bad)).to.throw(ConfigurationError, /tumbling window size/);
        expect(() => sliding(bad)).to.throw(ConfigurationError, /sliding window size/);
        expect(() => hopping(bad, 1)).to.throw(ConfigurationError, /hopping window size/);
        expect(() => hopping(10, bad)).to.throw(ConfigurationError, /hopping window step/);
      });
    }

    it('refuse a hopping step longer than the size', () => {
      expect(() => hopping(10, 11)).to.throw(
        ConfigurationError,
        /step \(11 ms\) must not exceed its size \(10 ms\)/,
      );
    });
  });

  describe('windowsOf', () => {
    it('tumbling: the one window [floor(t / size) * size, + size), half-open', () => {
      const spec = tumbling(10);
      expect(windowsOf(spec, 0)).to.deep.equal([[0, 10]]);
      expect(windowsOf(spec, 9)).to.deep.equal([[0, 10]]);
      expect(windowsOf(spec, 10)).to.deep.equal([[10, 20]]); // the end is excluded
      expect(windowsOf(spec, 1_764_201_600_001)).to.deep.equal([[1_764_201_600_000, 1_764_201_600_010]]);
    });

    it('tumbling: negative times round down, not toward zero', () => {
      const spec = tumbling(10);
      expect(windowsOf(spec, -1)).to.deep.equal([[-10, 0]]);
      expect(windowsOf(spec, -10)).to.deep.equal([[-10, 0]]);
      expect(windowsOf(spec, -11)).to.deep.equal([[-20, -10]]);
    });

    it('hopping: each event is in size / step windows, by start, each holding it', () => {
      const spec = hopping(10, 5);
      expect(windowsOf(spec, 0)).to.deep.equal([
        [-5, 5],
        [0, 10],
      ]);
      expect(windowsOf(spec, 4)).to.deep.equal([
        [-5, 5],
        [0, 10],
      ]);
      expect(windowsOf(spec, 5)).to.deep.equal([
        [0, 10],
        [5, 15],
      ]);
      expect(windowsOf(spec, 12)).to.deep.equal([
        [5, 15],
        [10, 20],
      ]);
      expect(windowsOf(hopping(60, 10), 65)).to.have.length(6);
      expect(windowsOf(hopping(60, 10), 65)[0]).to.deep.equal([10, 70]);
      expect(windowsOf(hopping(60, 10), 65)[5]).to.deep.equal([60, 120]);
    });

    it('hopping: negative times', () => {
      expect(windowsOf(hopping(10, 5), -1)).to.deep.equal([
        [-10, 0],
        [-5, 5],
      ]);
      expect(windowsOf(hopping(10, 5), -5)).to.deep.equal([
        [-10, 0],
        [-5, 5],
      ]);
      expect(windowsOf(hopping(10, 5), -6)).to.deep.equal([
        [-15, -5],
        [-10, 0],
      ]);
    });

    it('hopping where the step does not divide the size: 2 or 3 windows (size 10, step 4)', () => {
      const spec = hopping(10, 4);
      // starts ..., -8, -4, 0, 4, 8, 12: t is in the windows starting in (t - 10, t]
      expect(windowsOf(spec, 0)).to.deep.equal([
        [-8, 2],
        [-4, 6],
        [0, 10],
      ]);
      expect(windowsOf(spec, 2)).to.deep.equal([
        [-4, 6],
        [0, 10],
      ]);
      expect(windowsOf(spec, 9)).to.deep.equal([
        [0, 10],
        [4, 14],
        [8, 18],
      ]);
      expect(windowsOf(spec, 10)).to.deep.equal([
        [4, 14],
        [8, 18],
      ]);
      expect(windowsOf(spec, -3)).to.deep.equal([
        [-12, -2],
        [-8, 2],
        [-4, 6],
      ]);
    });

    it('hopping with step = size is tumbling', () => {
      for (const t of [-11, -10, -1, 0, 9, 10, 25])
        expect(windowsOf(hopping(10, 10), t)).to.deep.equal(windowsOf(tumbling(10), t));
    });

    it('sliding: the window ending with the event, [t - size + 1, t + 1)', () => {
      expect(windowsOf(sliding(10), 20)).to.deep.equal([[11, 21]]);
      expect(windowsOf(sliding(10), 0)).to.deep.equal([[-9, 1]]);
      expect(windowsOf(sliding(1), -5)).to.deep.equal([[-5, -4]]);
    });

    it('tumbling and hopping: exactly the windows that hold t (against a brute-force walk)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: -1000, max: 1000 }),
          fc.boolean(),
          (a, b, t, tumble) => {
            const spec = tumble ? tumbling(a) : hopping(Math.max(a, b), Math.min(a, b));
            expect(plain(windowsOf(spec, t))).to.deep.equal(oracle(spec, t));
          },
        ),
      );
    });
  });

  describe('earliestEnd', () => {
    it('tumbling: the end of the one window', () => {
      expect(earliestEnd(tumbling(10), 0)).to.equal(10);
      expect(earliestEnd(tumbling(10), 9)).to.equal(10);
      expect(earliestEnd(tumbling(10), 10)).to.equal(20);
      expect(earliestEnd(tumbling(10), -1)).to.equal(0);
      expect(earliestEnd(tumbling(10), -10)).to.equal(0);
      expect(earliestEnd(tumbling(10), -11)).to.equal(-10);
    });

    it('hopping: the end of the first window holding t (the one closing first)', () => {
      expect(earliestEnd(hopping(10, 5), 0)).to.equal(5);
      expect(earliestEnd(hopping(10, 5), 4)).to.equal(5);
      expect(earliestEnd(hopping(10, 5), 5)).to.equal(10);
      expect(earliestEnd(hopping(10, 4), 0)).to.equal(2);
      expect(earliestEnd(hopping(10, 4), 2)).to.equal(6);
      expect(earliestEnd(hopping(10, 4), -3)).to.equal(-2);
    });

    it('sliding: the end of the event’s own window, t + 1', () => {
      expect(earliestEnd(sliding(10), 20)).to.equal(21);
      expect(earliestEnd(sliding(10), -1)).to.equal(0);
    });

    it('is the smallest end among windowsOf(t), and t < it (against the brute-force walk)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: -1000, max: 1000 }),
          fc.constantFrom('tumbling', 'hopping', 'sliding'),
          (a, b, t, kind) => {
            const spec =
              kind === 'tumbling'
                ? tumbling(a)
                : kind === 'sliding'
                  ? sliding(a)
                  : hopping(Math.max(a, b), Math.min(a, b));
            const ends = (kind === 'sliding' ? windowsOf(spec, t) : oracle(spec, t)).map(([, e]) => e);
            expect(earliestEnd(spec, t)).to.equal(Math.min(...ends));
            expect(earliestEnd(spec, t)).to.be.greaterThan(t);
          },
        ),
      );
    });
  });
});
