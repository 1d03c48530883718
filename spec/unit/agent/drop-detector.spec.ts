import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { DropDetector } from '../../../lib/agent/drop-detector.js';
import { type Entry, PartitionTracker } from '../../../lib/agent/partition-tracker.js';
import { Lineage, type LineageOwner } from '../../../lib/core/lineage.js';
import { capturingLogger } from '../../support/audit.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const owner: LineageOwner = { accepting: true, onSettled: () => undefined, onFailed: () => undefined };

/** `count` records of orders[0], each pushed with a lineage that nothing else holds once this returns. */
function pushed(detector: DropDetector, count: number): Entry[] {
  const tracker = new PartitionTracker('orders', 0);
  return Array.from({ length: count }, (_, offset) => {
    const entry = tracker.add({ offset, key: null, value: null, headers: {}, timestamp: 0 }, 0);
    const lineage = new Lineage(owner, entry);
    entry.lineage = lineage;
    detector.watch(entry, lineage);
    return entry;
  });
}

/** Collects garbage and lets the finalization callbacks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('DropDetector', () => {
  it('reports, once, a record whose lineage was collected unsettled, at the second check (a restart under way is no drop)', async () => {
    const logger = capturingLogger();
    const detector = new DropDetector('save', logger);
    const [dropped, settled, newer] = pushed(detector, 3);
    settled!.settled = true;
    const kept = new Lineage(owner, newer);
    newer!.lineage = kept; // a newer attempt, alive: the old lineage's collection is no drop
    await collect();
    expect(detector.check()).to.equal(0);
    expect(detector.check()).to.equal(1);
    expect(detector.check()).to.equal(0);
    expect(logger.lines.map((line) => line.fields)).to.deep.equal([
      { agent: 'save', topic: 'orders', partition: 0, offset: dropped!.offset },
    ]);
    expect(logger.lines[0]!.message).to.include('use filterValue');
    expect(kept.done).to.equal(false);
  });

  it('a record handed to the error policy (or back to a restarted pipeline) in between is not reported', async () => {
    const logger = capturingLogger();
    const detector = new DropDetector('save', logger);
    const [retrying, revoked] = pushed(detector, 2);
    await collect();
    expect(detector.check()).to.equal(0);
    retrying!.stage = 'retrying';
    revoked!.tracker.revoked = true;
    expect(detector.check()).to.equal(0);
    expect(logger.lines).to.deep.equal([]);
  });

  it('watches at most its budget of records per interval, and checks on its scheduler', async () => {
    const logger = capturingLogger();
    const scheduler = new VirtualTimeScheduler(VirtualAction, 2_500);
    const detector = new DropDetector('save', logger, scheduler, 1_000, 2);
    pushed(detector, 5); // 2 watched: the others stay held, unseen
    await collect();
    detector.start();
    scheduler.flush(); // checks at 1000 and 2000
    detector.stop();
    const offsets = logger.lines.map((line) => (line.fields as { offset: number }).offset);
    expect(offsets.sort()).to.deep.equal([0, 1]);
  });
});
