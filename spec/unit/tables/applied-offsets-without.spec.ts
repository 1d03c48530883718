import { expect } from 'chai';
import fc from 'fast-check';
import { AppliedOffsets } from '../../../lib/tables/applied-offsets.js';

describe('AppliedOffsets without later offsets (the applied set as of a change)', () => {
  it('delete and encodeWithout leave exactly the other offsets, and the original untouched', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 60 }), { maxLength: 60 }),
        fc.nat({ max: 60 }),
        fc.nat({ max: 20 }),
        (offsets, split, committed) => {
          // the offsets applied after some change are the last ones added
          const applied = new AppliedOffsets();
          for (const offset of offsets) applied.add(offset);
          applied.prune(committed);
          const before = applied.encode();
          const later = offsets.slice(Math.min(split, offsets.length)).reverse();
          const asOf = AppliedOffsets.decode(applied.encodeWithout(later))!;
          expect(applied.encode(), 'the set itself is unchanged').to.equal(before);
          expect(asOf.floor).to.equal(committed);
          for (let offset = 0; offset <= 61; offset++) {
            const expected = offset >= committed && offsets.includes(offset) && !later.includes(offset);
            expect(asOf.has(offset), `has(${offset})`).to.equal(expected);
          }
        },
      ),
    );
  });

  it('deleting the top of a run trims it; deleting inside splits it; deleting an absent offset does nothing', () => {
    const applied = new AppliedOffsets();
    for (let offset = 10; offset < 20; offset++) applied.add(offset);
    expect(applied.encodeWithout([19, 18])).to.equal('0;10-18');
    expect(applied.encodeWithout([14])).to.equal('0;10-14,15-20');
    expect(applied.encodeWithout([10])).to.equal('0;11-20');
    expect(applied.encodeWithout([3, 25])).to.equal('0;10-20');
    applied.delete(15);
    applied.delete(15);
    expect(applied.encode()).to.equal('0;10-15,16-20');
    expect(applied.ranges).to.equal(2);
    const empty = new AppliedOffsets();
    empty.delete(3);
    expect(empty.encode(), 'nothing held: nothing to delete').to.equal('0;');
  });
});
