import { expect } from 'chai';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PartitionTracker, ReleasedRecordError } from '../../../lib/agent/partition-tracker.js';
import { Lineage } from '../../../lib/core/lineage.js';

const record = (offset: number) => ({ offset, key: null, value: null, headers: {}, timestamp: 0 });

describe('PartitionTracker', () => {
  it('commits nothing before the first record', () => {
    expect(new PartitionTracker('t', 0).committable).to.equal(undefined);
  });

  it('for any settle order, the committable offset is the lowest unsettled offset (or the next one)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 300 }),
        fc.func(fc.boolean()),
        fc.infiniteStream(fc.nat()),
        (rawOffsets, settleIt, picks) => {
          const offsets = [...rawOffsets].sort((a, b) => a - b); // gaps allowed, as after compaction
          const tracker = new PartitionTracker('t', 0);
          const entries = offsets.map((offset) => tracker.add(record(offset), 0, undefined));
          const pending = entries.filter((_, i) => settleIt(i));
          const iterator = picks[Symbol.iterator]();
          while (pending.length > 0) {
            const [entry] = pending.splice(iterator.next().value % pending.length, 1);
            tracker.settle(entry!);
            const unsettled = entries.filter((e) => !e.settled).map((e) => e.offset);
            const expected = unsettled.length > 0 ? Math.min(...unsettled) : offsets[offsets.length - 1]! + 1;
            expect(tracker.committable).to.equal(expected);
            expect(tracker.window).to.equal(countWindow(entries));
          }
        },
      ),
    );
  });

  it('lets go of a record once it is settled below the oldest unsettled one (its buffers are views on a whole fetch response)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const tracker = new PartitionTracker('t', 0);
    // Built in a function of its own: the spec keeps no reference to the entries it settles.
    const admit = (): { settled: WeakRef<object>[]; pending: object } => {
      const entries = [0, 1, 2, 3].map((offset) => tracker.add(record(offset), 0, undefined));
      tracker.settle(entries[0]!);
      tracker.settle(entries[1]!);
      tracker.settle(entries[3]!); // above the unsettled offset 2: still needed to compute the window
      return { settled: [new WeakRef(entries[0]!), new WeakRef(entries[1]!)], pending: entries[2]! };
    };
    const { settled, pending } = admit();
    await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets live until the job ends
    gc();
    expect(settled.map((ref) => ref.deref())).to.deep.equal([undefined, undefined]);
    expect(tracker.committable).to.equal(2);
    expect(tracker.oldest).to.equal(pending);
    expect(tracker.window).to.equal(2);
  });

  it('releases a record when it settles: its entry keeps the offset, and reading the record throws', () => {
    const tracker = new PartitionTracker('t', 3);
    const [a, b, c] = [0, 1, 2].map((offset) =>
      tracker.add(record(offset), 0, { key: null, value: `v${offset}` }),
    );
    tracker.settle(c!); // above the unsettled ones: kept by the tracker for the window, released all the same
    tracker.settle(a!);
    for (const settled of [a!, c!]) {
      expect(() => settled.record).to.throw(
        ReleasedRecordError,
        `t[3]@${settled.offset} was read after it settled`,
      );
      expect(settled.decoded).to.equal(undefined);
    }
    expect([a!.offset, c!.offset]).to.deep.equal([0, 2]);
    expect(b!.record).to.deep.equal(record(1)); // unsettled: still there to hand over again or dead-letter
    expect(b!.decoded).to.deep.equal({ key: null, value: 'v1' });
    expect(tracker.committable).to.equal(1);
  });

  it('a settled entry that lives on (a message still holds it) does not keep its record, nor the fetch response behind it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const tracker = new PartitionTracker('t', 0);
    const admit = (): { entries: object[]; records: WeakRef<object>[] } => {
      const records = [0, 1, 2].map((offset) => record(offset));
      const entries = records.map((r) => tracker.add(r, 0, undefined));
      tracker.settle(entries[0]!);
      tracker.settle(entries[2]!); // above the unsettled offset 1: the tracker keeps the entry
      return { entries, records: records.map((r) => new WeakRef(r)) };
    };
    const { entries, records } = admit();
    await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets live until the job ends
    gc();
    expect(records.map((ref) => ref.deref() === undefined)).to.deep.equal([true, false, true]);
    expect(entries).to.have.length(3); // all three entries are still held here
  });

  it('for any settle and hold order, the committable offset is the lowest offset unsettled or held; holds leave the window', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 200 }),
        fc.infiniteStream(fc.nat()),
        (rawOffsets, picks) => {
          const offsets = [...rawOffsets].sort((a, b) => a - b);
          const tracker = new PartitionTracker('t', 0);
          const entries = offsets.map((offset) => tracker.add(record(offset), 0, undefined));
          const iterator = picks[Symbol.iterator]();
          const pick = <T>(items: T[]): T => items.splice(iterator.next().value % items.length, 1)[0]!;
          // each record is held (in any order, as a record retried later is applied late), then settled,
          // then released, the steps of different records interleaved at random
          const toHold = [...entries];
          const toSettle: typeof entries = [];
          const toRelease: ReturnType<PartitionTracker['hold']>[] = [];
          while (toHold.length + toSettle.length + toRelease.length > 0) {
            const step = iterator.next().value % 3;
            if (step === 0 && toHold.length > 0) {
              const entry = pick(toHold);
              toRelease.push(tracker.hold(entry));
              toSettle.push(entry);
            } else if (step === 1 && toSettle.length > 0) tracker.settle(pick(toSettle));
            else if (step === 2 && toRelease.length > 0)
              expect(tracker.release(pick(toRelease))).to.equal(true);
            else continue;
            const blocking = [
              ...entries.filter((e) => !e.settled).map((e) => e.offset),
              ...toRelease.map((hold) => hold.offset),
            ];
            const expected = blocking.length > 0 ? Math.min(...blocking) : offsets[offsets.length - 1]! + 1;
            expect(tracker.committable).to.equal(expected);
            expect(tracker.window).to.equal(countWindow(entries));
            expect(tracker.held).to.equal(toRelease.length);
          }
        },
      ),
    );
  });

  it('many holds released in the order taken (the released ones dropped from time to time) leave the lowest unreleased one committable', () => {
    const tracker = new PartitionTracker('t', 0);
    const holds = Array.from({ length: 3000 }, (_, offset) => {
      const entry = tracker.add(record(offset), 0, undefined);
      const hold = tracker.hold(entry);
      tracker.settle(entry);
      return hold;
    });
    for (const [i, hold] of holds.entries()) {
      if (i === 2999) break;
      tracker.release(hold);
      expect(tracker.committable).to.equal(i + 1);
    }
    expect(tracker.held).to.equal(1);
    tracker.release(holds[2999]!);
    expect(tracker.committable).to.equal(3000);
  });

  it('a hold released twice counts once', () => {
    const tracker = new PartitionTracker('t', 0);
    const a = tracker.add(record(0), 0, undefined);
    const hold = tracker.hold(a);
    tracker.settle(a);
    expect(tracker.committable).to.equal(0);
    expect(tracker.window).to.equal(0);
    expect(tracker.release(hold)).to.equal(true);
    expect(tracker.release(hold)).to.equal(false);
    expect(tracker.held).to.equal(0);
    expect(tracker.committable).to.equal(1);
  });

  it('settling twice counts once', () => {
    const tracker = new PartitionTracker('t', 0);
    const a = tracker.add(record(0), 0, undefined);
    tracker.add(record(1), 0, undefined);
    expect(tracker.settle(a)).to.equal(1);
    expect(tracker.settle(a)).to.equal(0);
    expect(tracker.unsettled).to.equal(1);
  });
});

describe('Entry: its lineage, held weakly for the drop detector', () => {
  const owner = { accepting: true, onSettled: () => undefined, onFailed: () => undefined };

  it('reads the same lineage after being held weakly (once or twice) while the pipeline still holds it', () => {
    const entry = new PartitionTracker('t', 0).add(record(0), 0, undefined);
    entry.holdLineageWeakly(); // no lineage yet: nothing to hold, nothing thrown
    expect(entry.lineage).to.equal(undefined);
    expect(entry.lineageLost).to.equal(false);
    const lineage = new Lineage(owner, 'r0');
    entry.lineage = lineage;
    expect(entry.lineageLost).to.equal(false); // held strongly: never lost
    entry.holdLineageWeakly();
    entry.holdLineageWeakly();
    expect(entry.lineage).to.equal(lineage);
    expect(entry.lineageLost).to.equal(false); // this spec still holds it
  });
});

function countWindow(entries: readonly { settled: boolean }[]): number {
  const first = entries.findIndex((e) => !e.settled);
  return first < 0 ? 0 : entries.length - first;
}
