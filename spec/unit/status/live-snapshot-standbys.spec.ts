import { expect } from 'chai';
import type { TableStats } from '../../../lib/index.js';
import { liveSnapshot } from '../../../lib/status/live-page/live-snapshot.js';

describe('liveSnapshot, standby replicas', () => {
  it("lists a table's standby copies with their keys and lag, and nothing when it keeps none", () => {
    const counts: TableStats = {
      name: 'counts',
      changelog: 'feed-counts-changelog',
      store: 'memory',
      state: 'ready',
      partitionCount: 3,
      partitions: [{ partition: 0, state: 'ready', keys: 7, read: 9, toRead: 9, pendingWrites: 0 }],
      stalledMs: undefined,
      writeFailures: 0,
      standbys: [
        { partition: 1, keys: 12, position: 40, lag: 0, resets: 0 },
        { partition: 2, keys: 3, position: 10, lag: 5, resets: 1 },
      ],
    };
    const at = (tables: TableStats[]) =>
      liveSnapshot({ app: 'feed', at: 0, agents: [], lags: [], sinks: [], tables }, []).tables;
    expect(at([counts])[0]!.standbys).to.deep.equal([
      { partition: 1, keys: 12, lag: 0 },
      { partition: 2, keys: 3, lag: 5 },
    ]);
    expect(at([{ ...counts, standbys: [] }])[0]).not.to.have.property('standbys');
  });
});
