import { expect } from 'chai';
import { WindowPartition } from '../../../lib/windows/window-partition.js';

describe('WindowPartition: one partition’s watermark and what is due', () => {
  it('starts with no event time, its last record and event time taken as at set-up', () => {
    const part = new WindowPartition<string, number>(3, 10, 100);
    expect([part.partition, part.lastRecordAt, part.maxTimeAt, part.watermark, part.nextDue]).to.deep.equal([
      3,
      100,
      100,
      Number.NEGATIVE_INFINITY,
      undefined,
    ]);
  });

  it('event time moves on with the highest event time seen, from the wall-clock time it was first seen', () => {
    const part = new WindowPartition<string, number>(0, 10, 0);
    part.observe(50, 5);
    part.observe(50, 20); // seen again later: event time has moved on since 5 all the same
    part.observe(40, 30); // older: changes nothing
    expect([part.watermark, part.idleWatermark(25)]).to.deep.equal([40, 50 + 20 - 10]);
    expect(part.wallTimeOf(60)).to.equal(25);
  });

  it('restored: the watermark from the changelog, durable, and event time resuming from it (plus the grace) now', () => {
    const part = new WindowPartition<string, number>(0, 10, 0);
    part.restore(100, 50);
    expect([part.watermark, part.floor, part.durable]).to.deep.equal([100, 100, 100]);
    expect(part.idleWatermark(60)).to.equal(110); // 100 + 10 of grace, 10 ms of wall clock, minus the grace
    expect(part.wallTimeOf(120)).to.equal(70);
  });

  it('takes what is due up to a time, each key once, the rest left for later', () => {
    const part = new WindowPartition<string, number>(0, 0, 0);
    part.schedule(10, 'a', 'A');
    part.schedule(3, 'b', 'B');
    part.schedule(10, 'b', 'B');
    part.schedule(20, 'c', 'C');
    expect([part.dueTimes, part.nextDue, part.firstDue()]).to.deep.equal([3, 3, 'B']);
    expect(part.takeDue(2)).to.equal(undefined);
    expect([...part.takeDue(10)!]).to.deep.equal([
      ['b', 'B'],
      ['a', 'A'],
    ]);
    expect([part.dueTimes, part.nextDue, part.firstDue()]).to.deep.equal([1, 20, 'C']);
    expect([...part.takeDue(100)!]).to.deep.equal([['c', 'C']]);
    expect([part.dueTimes, part.nextDue, part.firstDue()]).to.deep.equal([0, undefined, undefined]);
    expect(part.takeDue(100)).to.equal(undefined);
  });
});
