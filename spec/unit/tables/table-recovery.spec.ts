import { expect } from 'chai';
import { MemoryTableStore, silentLogger } from '../../../lib/index.js';
import { restorePartitions } from '../../../lib/tables/table-recovery.js';
import { TablePartition } from '../../../lib/tables/table-partition.js';
import { PartitionReadAbortedError } from '../../../lib/transports/partition-read-errors.js';

describe('restorePartitions', () => {
  it('stops retrying the end offsets once aborted (the partitions moved away, the app stops)', async () => {
    const store = new MemoryTableStore();
    const abort = new AbortController();
    let asked = 0;
    const reader = {
      endOffsets: () => {
        asked++;
        if (asked === 2) abort.abort(); // aborted while the broker keeps refusing
        return Promise.reject(new Error('NOT_LEADER_FOR_PARTITION'));
      },
      readPartitions: () => Promise.reject(new Error('never reached')),
    };
    const restore = restorePartitions(
      { table: 't', changelog: 'app-t-changelog', reader, store, logger: silentLogger, signal: abort.signal },
      [new TablePartition<number>(0, store, silentLogger)],
    );
    const error = await restore.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(PartitionReadAbortedError);
    expect(asked).to.equal(2); // not the 9 attempts of the metadata retry policy
  });
});
