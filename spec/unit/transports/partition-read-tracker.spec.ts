import { expect } from 'chai';
import { PartitionReadTracker } from '../../../lib/transports/partition-read-tracker.js';
import { waitFor } from '../../../lib/testing/index.js';
import type { ReadStall, TransportRecord } from '../../../lib/transports/transport.js';

const record = (offset: number): TransportRecord => ({
  offset,
  key: null,
  value: Buffer.from(String(offset)),
  headers: {},
  timestamp: 0,
});
const records = (...offsets: number[]) => offsets.map(record);

describe('PartitionReadTracker', () => {
  it('hands over only records in range and past the position; records fetched twice are skipped', async () => {
    const handed: number[][] = [];
    const tracker = new PartitionReadTracker(
      't',
      [{ partition: 0, from: 3, to: 8 }],
      [{ partition: 0, low: 0, high: 10 }],
      {
        onBatch: (batch) => void handed.push(batch.records.map((r) => r.offset)),
      },
    );
    await tracker.deliver(0, records(0, 1, 2, 3, 4, 5));
    await tracker.deliver(0, records(4, 5, 6)); // fetched again after a seek
    await tracker.deliver(1, records(0, 1)); // not requested
    await tracker.deliver(0, records(7, 8, 9)); // 8 and 9 are past `to`
    expect(handed).to.deep.equal([[3, 4, 5], [6], [7]]);
    expect(await tracker.finished).to.include({ read: 5 });
  });

  it('starts at the first record retention left, and is done at once when retention took the whole range', async () => {
    const tracker = new PartitionReadTracker(
      't',
      [
        { partition: 0, from: 0, to: 10 },
        { partition: 1, from: 2, to: 5 },
      ],
      [
        { partition: 0, low: 4, high: 10 },
        { partition: 1, low: 7, high: 9 },
      ],
      { onBatch: () => {} },
    );
    expect(tracker.pending()).to.deep.equal([{ partition: 0, position: 4, to: 10 }]);
    expect(tracker.wants(1)).to.equal(false);
  });

  it('finishes when the broker shows the rest of a range holds nothing for it (compacted, markers)', async () => {
    const tracker = new PartitionReadTracker(
      't',
      [{ partition: 0, from: 0, to: 10 }],
      [{ partition: 0, low: 0, high: 10 }],
      {
        onBatch: () => {},
      },
    );
    await tracker.deliver(0, records(0, 2, 5)); // 1, 3, 4 compacted away
    expect(tracker.position(0)).to.equal(6);
    tracker.advance(0, 3); // behind: ignored
    expect(tracker.position(0)).to.equal(6);
    tracker.advance(0, 10); // 6..9 hold nothing this reader sees
    expect(await tracker.finished).to.include({ read: 3 });
  });

  it('reports a stall waiting on the broker, again after each period, and none once done', async () => {
    const stalls: ReadStall[] = [];
    const tracker = new PartitionReadTracker(
      't',
      [{ partition: 0, from: 0, to: 2 }],
      [{ partition: 0, low: 0, high: 2 }],
      {
        onBatch: () => {},
        stallTimeoutMs: 20,
        onStall: (stall) => stalls.push(stall),
      },
    );
    await waitFor(() => stalls.length >= 2, { timeoutMs: 5_000, description: 'two stall reports' });
    expect(stalls[0]).to.deep.include({
      waitingFor: 'broker',
      pending: [{ partition: 0, position: 0, to: 2 }],
    });
    await tracker.deliver(0, records(0, 1));
    await tracker.finished;
    const count = stalls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stalls.length).to.equal(count);
  });

  it('uses the transport’s stall report when the caller gives none', async () => {
    const stalls: ReadStall[] = [];
    const tracker = new PartitionReadTracker(
      't',
      [{ partition: 0, from: 0, to: 1 }],
      [{ partition: 0, low: 0, high: 1 }],
      { onBatch: () => {}, stallTimeoutMs: 10 },
      (stall) => stalls.push(stall),
    );
    await waitFor(() => stalls.length >= 1, { timeoutMs: 5_000, description: 'a stall report' });
    tracker.fail(new Error('stop'));
    await tracker.finished.catch(() => undefined);
    expect(stalls.length).to.be.at.least(1);
  });
});
