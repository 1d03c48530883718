import { expect } from 'chai';
import { collect, count, max, min, sum, type Aggregate } from '../../../lib/index.js';

/** The aggregate of `values`, from init, one add at a time. */
function fold<T, A, E>(aggregate: Aggregate<T, A, E>, values: readonly T[]): A {
  const event = aggregate.event ?? ((value: T) => value as unknown as E);
  return values.reduce((a, v) => aggregate.add(a, event(v)), aggregate.init());
}

/** The aggregate survives the changelog's JSON. */
function roundTrip<A>(value: A): A {
  return JSON.parse(JSON.stringify(value)) as A;
}

describe('aggregates', () => {
  it('count: 0 for no event, one per event whatever its value', () => {
    expect(count().init()).to.equal(0);
    expect(fold(count(), ['a', null, undefined, 0])).to.equal(4);
  });

  it('sum: 0 for no event, the sum of what it takes from each', () => {
    const total = sum((o: { qty: number }) => o.qty);
    expect(total.init()).to.equal(0);
    expect(fold(total, [{ qty: 2 }, { qty: -5 }, { qty: 10 }])).to.equal(7);
  });

  it('min: null for no event, then the smallest (negatives and zero included)', () => {
    const low = min((n: number) => n);
    expect(low.init()).to.equal(null);
    expect(fold(low, [3])).to.equal(3);
    expect(fold(low, [3, -1, 2])).to.equal(-1);
    expect(fold(low, [0, 5])).to.equal(0);
    expect(fold(low, [5, 0])).to.equal(0);
  });

  it('max: null for no event, then the largest (negatives and zero included)', () => {
    const high = max((n: number) => n);
    expect(high.init()).to.equal(null);
    expect(fold(high, [-3])).to.equal(-3);
    expect(fold(high, [-3, -1, -2])).to.equal(-1);
    expect(fold(high, [0, -5])).to.equal(0);
    expect(fold(high, [-5, 0])).to.equal(0);
  });

  it('min and max restart from null after a JSON round trip of the empty value', () => {
    expect(roundTrip(min((n: number) => n).init())).to.equal(null);
    expect(
      min((n: number) => n).add(
        roundTrip(
          fold(
            min((n: number) => n),
            [4],
          ),
        ),
        2,
      ),
    ).to.equal(2);
    expect(
      max((n: number) => n).add(
        roundTrip(
          fold(
            max((n: number) => n),
            [4],
          ),
        ),
        2,
      ),
    ).to.equal(4);
  });

  it('collect: the events (or what it takes from each) in order, never changing a previous list', () => {
    expect(collect().init()).to.deep.equal([]);
    expect(fold(collect<string>(), ['a', 'b', 'a'])).to.deep.equal(['a', 'b', 'a']);
    const pages = collect((v: { page: string }) => v.page);
    const first = fold(pages, [{ page: '/' }]);
    const frozen = Object.freeze([...first]) as string[]; // a change in place would throw
    const second = pages.add(frozen, pages.event!({ page: '/cart' }));
    expect(frozen).to.deep.equal(['/']); // a result already handed downstream keeps its value
    expect(second).to.deep.equal(['/', '/cart']);
  });

  it('each init gives a fresh value (no list shared between windows)', () => {
    const list = collect<number>();
    const a = list.init();
    const b = list.init();
    expect(a).not.to.equal(b);
  });

  it('a custom aggregate is a plain { init, add }', () => {
    const notional: Aggregate<{ qty: number; price: number }, number> = {
      init: () => 0,
      add: (total, o) => total + o.qty * o.price,
    };
    expect(
      fold(notional, [
        { qty: 2, price: 3 },
        { qty: 1, price: 10 },
      ]),
    ).to.equal(16);
  });
});
