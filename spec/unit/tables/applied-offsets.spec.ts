import { expect } from 'chai';
import fc from 'fast-check';
import { AppliedOffsets } from '../../../lib/tables/applied-offsets.js';

describe('AppliedOffsets', () => {
  it('holds exactly the offsets added above the floor, in any order, and survives encode/decode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 60 }), { maxLength: 80 }),
        fc.nat({ max: 40 }),
        (offsets, committed) => {
          const applied = new AppliedOffsets();
          for (const offset of offsets) applied.add(offset);
          applied.prune(committed);
          const copy = AppliedOffsets.decode(applied.encode())!;
          for (let offset = 0; offset <= 61; offset++) {
            const expected = offset >= committed && offsets.includes(offset);
            expect(applied.has(offset), `has(${offset})`).to.equal(expected);
            expect(copy.has(offset), `decoded has(${offset})`).to.equal(expected);
          }
          expect(copy.floor).to.equal(committed);
        },
      ),
    );
  });

  it('keeps a run of consecutive offsets as one range', () => {
    const applied = new AppliedOffsets();
    for (let offset = 10; offset < 1000; offset++) applied.add(offset);
    applied.add(5);
    expect(applied.ranges).to.equal(2);
    expect(applied.encode()).to.equal('0;5-6,10-1000');
  });

  it('refuses text that is not an encoding', () => {
    expect(AppliedOffsets.decode('x')).to.equal(undefined);
    expect(AppliedOffsets.decode('0;5-3')).to.equal(undefined);
  });
});
