import { expect } from 'chai';
import { PartitionTracker } from '../../../lib/agent/partition-tracker.js';
import { StallDetector } from '../../../lib/agent/stall-detector.js';
import { capturingLogger } from '../../support/audit.js';

describe('StallDetector', () => {
  const stuck = (): PartitionTracker => {
    const tracker = new PartitionTracker('orders', 0);
    tracker.add({ offset: 7, key: null, value: null, headers: {}, timestamp: 0 }, 1_000);
    return tracker;
  };

  it('warns once per stuck record, naming topic, partition and offset', () => {
    const logger = capturingLogger();
    const tracker = stuck();
    const detector = new StallDetector(
      'save',
      () => [tracker],
      logger,
      30_000,
      () => 40_000,
    );
    expect(detector.check()).to.equal(1);
    expect(detector.check()).to.equal(0);
    expect(logger.lines[0]!.fields).to.include({ agent: 'save', topic: 'orders', partition: 0, offset: 7 });
  });

  it('says nothing while a sink is down (the outage has lines of its own), and warns once it is back', () => {
    const logger = capturingLogger();
    const tracker = stuck();
    let outage = true;
    const detector = new StallDetector(
      'save',
      () => [tracker],
      logger,
      30_000,
      () => 40_000,
      () => outage,
    );
    expect(detector.check()).to.equal(0);
    outage = false;
    expect(detector.check()).to.equal(1);
  });
});
