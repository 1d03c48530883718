import { expect } from 'chai';
import { PartitionTracker } from '../../../lib/agent/partition-tracker.js';
import { StallDetector } from '../../../lib/agent/stall-detector.js';
import { capturingLogger } from '../../support/audit.js';
import { marbles } from '../../support/marbles.js';

describe('StallDetector', () => {
  const stuck = (receivedAt = 1_000): PartitionTracker => {
    const tracker = new PartitionTracker('orders', 0);
    tracker.add({ offset: 7, key: null, value: null, headers: {}, timestamp: 0 }, receivedAt);
    return tracker;
  };

  it('warns once per stuck record, naming topic, partition and offset', () => {
    const scheduler = marbles();
    scheduler.frame = 40_000;
    const logger = capturingLogger();
    const tracker = stuck();
    const detector = new StallDetector('save', () => [tracker], logger, 30_000, scheduler);
    expect(detector.check()).to.equal(1);
    expect(detector.check()).to.equal(0);
    expect(logger.lines[0]!.fields).to.include({ agent: 'save', topic: 'orders', partition: 0, offset: 7 });
  });

  it('says nothing while a sink is down (the outage has lines of its own), and warns once it is back', () => {
    const scheduler = marbles();
    scheduler.frame = 40_000;
    const logger = capturingLogger();
    const tracker = stuck();
    let outage = true;
    const detector = new StallDetector(
      'save',
      () => [tracker],
      logger,
      30_000,
      scheduler,
      () => outage,
    );
    expect(detector.check()).to.equal(0);
    outage = false;
    expect(detector.check()).to.equal(1);
  });

  it('checks on the default scheduler, in virtual time under TestScheduler.run, until stopped', () => {
    const scheduler = marbles();
    const warnedAt: number[] = [];
    scheduler.run(({ flush }) => {
      const logger = capturingLogger();
      const warn = logger.warn;
      logger.warn = (fields, message) => {
        warnedAt.push(scheduler.now());
        warn(fields, message);
      };
      const tracker = stuck(0);
      // no scheduler given: asyncScheduler, which TestScheduler.run makes virtual (one rxjs)
      const detector = new StallDetector('save', () => [tracker], logger, 12_000);
      detector.start(); // checks every 5 s: the record is 10 s old at the second, 15 s old at the third
      scheduler.schedule(() => detector.stop(), 60_000);
      flush();
      expect(logger.lines[0]!.fields).to.include({ offset: 7, ageMs: 15_000 });
    });
    expect(warnedAt).to.deep.equal([15_000]);
    expect(scheduler.actions, 'stop() cancelled the periodic check').to.have.length(0);
  });
});
