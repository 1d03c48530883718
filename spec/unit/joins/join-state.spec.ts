import { expect } from 'chai';
import { json, string } from '../../../lib/index.js';
import { sideCodec } from '../../../lib/joins/join-side.js';
import {
  type JoinState,
  addRecord,
  expire,
  isLate,
  nextExpiry,
  removePending,
} from '../../../lib/joins/join-state.js';

describe('join state: one key’s buffered records and pending results', () => {
  it('a record meets the other side within `within` (both ends included), marks both matched, and pends one result each', () => {
    let state: JoinState | undefined;
    state = addRecord(state, 'left', [10, 'l1', 'A', 0], 5);
    state = addRecord(state, 'right', [15, 'r1', 'B', 0], 5);
    state = addRecord(state, 'right', [16, 'r2', 'C', 0], 5);
    expect(state).to.deep.equal({
      l: [[10, 'l1', 'A', 1]],
      r: [
        [15, 'r1', 'B', 1],
        [16, 'r2', 'C', 0],
      ],
      p: [['l1+r1', 15, 'A', 'B']],
    });
  });

  it('expiry drops records whose watermark passed t + 2 × within; left pends unmatched left ones, outer both sides', () => {
    const state: JoinState = {
      l: [
        [0, 'l1', 'A', 0],
        [0, 'l2', 'B', 1],
        [20, 'l3', 'C', 0],
      ],
      r: [[0, 'r1', 'D', 0]],
    };
    expect(nextExpiry(state, 5)).to.equal(11);
    expect(expire(state, 10, 5, 'left')).to.equal(state); // nothing expired yet
    expect(expire(state, 11, 5, 'inner')).to.deep.equal({ l: [[20, 'l3', 'C', 0]] });
    expect(expire(state, 11, 5, 'left')).to.deep.equal({
      l: [[20, 'l3', 'C', 0]],
      p: [['l1+', 0, 'A', null]],
    });
    expect(expire(state, 11, 5, 'outer')).to.deep.equal({
      l: [[20, 'l3', 'C', 0]],
      p: [
        ['l1+', 0, 'A', null],
        ['+r1', 0, null, 'D'],
      ],
    });
    expect(expire(state, 100, 5, 'inner')).to.equal(undefined);
  });

  it('a settled result leaves the state; nothing left is no state', () => {
    const state: JoinState = { p: [['a+b', 1, 'A', 'B']] };
    expect(removePending(state, 'a+b')).to.equal(undefined);
    expect(removePending({ ...state, l: [[1, 'a', 'A', 1]] }, 'a+b')).to.deep.equal({
      l: [[1, 'a', 'A', 1]],
    });
  });

  it('late: its own window (t + within) closed at the watermark', () => {
    expect(isLate(10, 5, 15)).to.equal(false);
    expect(isLate(10, 5, 16)).to.equal(true);
  });
});

describe('the join topic’s codec', () => {
  it('tags the side with one byte and uses that side’s codec', async () => {
    const codec = sideCodec(json<{ n: number }>(), string());
    const left = codec.encode({ side: 'left', value: { n: 1 } });
    const right = codec.encode({ side: 'right', value: 'x' });
    expect(left.toString()).to.equal('L{"n":1}');
    expect(right.toString()).to.equal('Rx');
    expect(await codec.decode(left)).to.deep.equal({ side: 'left', value: { n: 1 } });
    expect(await codec.decode(right)).to.deep.equal({ side: 'right', value: 'x' });
    expect(() => codec.decode(Buffer.from('?x'))).to.throw(/not a join record/);
  });
});
