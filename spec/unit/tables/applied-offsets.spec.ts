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

  it('survives encodeGaps/decodeGaps, the shorter encoding of sparse offsets, with any floor', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 300 }), { maxLength: 80 }),
        fc.nat({ max: 200 }),
        (offsets, committed) => {
          const applied = new AppliedOffsets();
          for (const offset of offsets) applied.add(offset);
          applied.prune(committed);
          const copy = AppliedOffsets.decodeGaps(applied.encodeGaps())!;
          expect(copy.floor).to.equal(committed);
          expect(copy.encode()).to.equal(applied.encode());
        },
      ),
    );
    expect(AppliedOffsets.decodeGaps('0;1,0')).to.equal(undefined); // adjacent ranges are one range
  });

  it('reads runs of 36 offsets and more (lengths of several base-36 digits), and refuses text around an encoding', () => {
    const applied = new AppliedOffsets();
    for (let offset = 0; offset < 40; offset++) applied.add(offset);
    for (let offset = 100; offset < 200; offset++) applied.add(offset);
    const text = applied.encodeGaps();
    expect(text).to.equal('0;0.14,1o.2s');
    expect(AppliedOffsets.decodeGaps(text)?.encode()).to.equal('0;0-40,100-200');
    for (const bad of [`=${text}`, `${text}!`, ` ${text}`])
      expect(AppliedOffsets.decodeGaps(bad), bad).to.equal(undefined);
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

  it('splits any range, not only the first, when an offset inside it is deleted', () => {
    const applied = new AppliedOffsets();
    for (const offset of [1, 2, 3, 10, 11, 12, 13]) applied.add(offset);
    applied.delete(11);
    expect(applied.encode()).to.equal('0;1-4,10-11,12-14');
    expect([10, 11, 12].map((offset) => applied.has(offset))).to.deep.equal([true, false, true]);
  });

  it('moves its floor only forward, trimming a range that straddles it', () => {
    const applied = new AppliedOffsets();
    for (let offset = 5; offset < 10; offset++) applied.add(offset);
    applied.prune(7);
    expect(applied.encode()).to.equal('7;7-10');
    applied.prune(3); // an older commit reported late
    expect(applied.floor).to.equal(7);
    expect(applied.encode()).to.equal('7;7-10');
  });

  it('reads an encoding with no ranges, and refuses ranges that are empty, adjacent, overlapping or unsorted', () => {
    const empty = AppliedOffsets.decode('5;')!;
    expect([empty.floor, empty.ranges, empty.encode(), empty.has(5)]).to.deep.equal([5, 0, '5;', false]);
    for (const text of ['0;3-3', '0;1-3,3-5', '0;1-4,2-6', '0;5-7,1-2', 'x0;1-2', '0;1-2x', '0;1-2,'])
      expect(AppliedOffsets.decode(text), text).to.equal(undefined);
    expect(AppliedOffsets.decode('0;1-3,4-5')!.encode()).to.equal('0;1-3,4-5');
  });
});
