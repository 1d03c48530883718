import { expect } from 'chai';
import { MemoryTableStore, type Logger } from '../../../lib/index.js';
import { waitFor } from '../../../lib/testing/index.js';
import { StandbyReplicas } from '../../../lib/tables/standby-replicas.js';
import { restorePartitions } from '../../../lib/tables/table-recovery.js';
import { TablePartition } from '../../../lib/tables/table-partition.js';
import type { TableStore } from '../../../lib/tables/stores/table-store.js';
import { FakeChangelog } from './fixtures/fake-changelog.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => {};
  return {
    warnings,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (_fields, message) => warnings.push(message!),
  };
}

const contents = (store: MemoryTableStore, partition: number): Record<string, string> => {
  const result: Record<string, string> = {};
  for (const key of store.keys(partition, { limit: 1000 }).keys)
    result[key.toString()] = store.get(partition, key)!.toString();
  return result;
};

describe('StandbyReplicas', () => {
  let standbys: StandbyReplicas | undefined;
  afterEach(() => standbys?.close());

  function follow(changelog: FakeChangelog, store: TableStore, logger: Logger = recordingLogger()) {
    standbys = new StandbyReplicas({
      table: 't',
      changelog: 'app-t-changelog',
      reader: changelog,
      store,
      logger,
      pollMs: 1,
    });
    return standbys;
  }

  it('tails the changelog of the partitions it follows into the store, and reports position and lag', async () => {
    const changelog = new FakeChangelog(3);
    const store = new MemoryTableStore();
    changelog.append(0, 'a', '1');
    changelog.append(2, 'b', '1');
    const replicas = follow(changelog, store);
    replicas.follow([0, 2]);
    await waitFor(() => store.checkpoint(0) === 1 && store.checkpoint(2) === 1);
    changelog.append(0, 'a', '2');
    changelog.append(0, 'c', '1');
    changelog.append(0, 'b', null); // a tombstone of a key the copy does not hold
    changelog.append(1, 'z', '1'); // not followed
    await waitFor(() => store.checkpoint(0) === 4);
    expect(contents(store, 0)).to.deep.equal({ a: '2', c: '1' });
    expect(store.checkpoint(1)).to.equal(undefined);
    expect(replicas.stats()).to.deep.equal([
      { partition: 0, keys: 2, position: 4, lag: 0, resets: 0 },
      { partition: 2, keys: 1, position: 1, lag: 0, resets: 0 },
    ]);
  });

  it('drops a copy ahead of its changelog (the topic was recreated) and rebuilds it from the start', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    await store.apply(0, [{ key: Buffer.from('old'), value: Buffer.from('1') }], 10);
    changelog.append(0, 'new', '1');
    const logger = recordingLogger();
    follow(changelog, store, logger).follow([0]);
    await waitFor(() => store.checkpoint(0) === 1);
    expect(contents(store, 0)).to.deep.equal({ new: '1' });
    expect(standbys!.stats()[0]!.resets).to.equal(1);
    expect(logger.warnings).to.have.length(1);
  });

  it('drops a copy that retention passed (a tombstone it never read is gone) and rebuilds it from the first record left', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    changelog.append(0, 'x', '1'); // 0: the copy reads it
    const replicas = follow(changelog, store);
    replicas.follow([0]);
    await waitFor(() => store.checkpoint(0) === 1);
    await replicas.release([0]); // e.g. the copy stops following for a while
    changelog.append(0, 'x', null); // 1: deleted…
    changelog.append(0, 'y', '1'); // 2
    changelog.deleteBefore(0, 2); // …and the tombstone deleted by retention
    replicas.follow([0]);
    await waitFor(() => store.checkpoint(0) === 3);
    expect(contents(store, 0)).to.deep.equal({ y: '1' }); // not x
    expect(replicas.stats()[0]!.resets).to.equal(1);
  });

  it('empties a copy when retention deleted its whole range, and does not read those offsets again', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    await store.apply(0, [{ key: Buffer.from('x'), value: Buffer.from('1') }], 1);
    changelog.append(0, 'x', '1');
    changelog.append(0, 'x', null);
    changelog.deleteBefore(0, 2); // nothing left
    const replicas = follow(changelog, store);
    replicas.follow([0]);
    await waitFor(() => store.checkpoint(0) === 2);
    expect(contents(store, 0)).to.deep.equal({});
    expect(replicas.stats()).to.deep.equal([{ partition: 0, keys: 0, position: 2, lag: 0, resets: 1 }]);
    const reads = changelog.reads;
    await new Promise((resolve) => setTimeout(resolve, 20)); // rounds go on, 1 ms apart
    expect(changelog.reads).to.equal(reads);
  });

  it('release resolves only once a change in flight is in the store, and nothing of the standby lands after it', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const applied: number[] = [];
    const slowStore: TableStore = {
      description: 'slow',
      get: (partition, key) => store.get(partition, key),
      checkpoint: (partition) => store.checkpoint(partition),
      keys: (partition, page) => store.keys(partition, page),
      size: (partition) => store.size(partition),
      partitions: () => store.partitions(),
      dropPartition: (partition) => store.dropPartition(partition),
      close: () => store.close(),
      apply: async (partition, changes, offset) => {
        await gate;
        await store.apply(partition, changes, offset);
        applied.push(offset);
      },
    };
    for (let i = 0; i < 6; i++) changelog.append(0, `k${i}`, '1');
    const replicas = follow(changelog, slowStore);
    replicas.follow([0]);
    await waitFor(() => changelog.reads === 1);
    let released = false;
    const releasing = replicas.release([0]).then(() => (released = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(released).to.equal(false); // the first batch is still being applied
    release();
    await releasing;
    const atRelease = applied.slice();
    expect(atRelease).to.deep.equal([2]); // the batch in flight, no more
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(applied).to.deep.equal(atRelease);
    expect(replicas.stats()).to.deep.equal([]);
  });

  it('close resolves while a round waits on the broker, and what the broker answers later changes nothing', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    changelog.append(0, 'a', '1');
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let asked = false;
    const reader = Object.assign(Object.create(changelog) as FakeChangelog, {
      endOffsets: async (topic: string) => {
        asked = true;
        await answered;
        return changelog.endOffsets(topic);
      },
    });
    const replicas = new StandbyReplicas({
      table: 't',
      changelog: 'c',
      reader,
      store,
      logger: recordingLogger(),
      pollMs: 1,
    });
    replicas.follow([0]);
    await waitFor(() => asked);
    await replicas.close();
    answer();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.checkpoint(0)).to.equal(undefined);
    expect(changelog.reads).to.equal(0);
  });

  it('logs a failing round once and tries again', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    let failures = 3;
    const reader = Object.assign(Object.create(changelog) as FakeChangelog, {
      endOffsets: (topic: string) =>
        failures-- > 0 ? Promise.reject(new Error('broker down')) : changelog.endOffsets(topic),
    });
    changelog.append(0, 'a', '1');
    const logger = recordingLogger();
    standbys = new StandbyReplicas({ table: 't', changelog: 'c', reader, store, logger, pollMs: 1 });
    standbys.follow([0]);
    await waitFor(() => store.checkpoint(0) === 1);
    expect(logger.warnings).to.deep.equal(['a standby round failed; trying again']);
  });
});

describe('restorePartitions, when retention passed the store', () => {
  it('drops the copy and replays from the first record left', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    await store.apply(0, [{ key: Buffer.from('x'), value: Buffer.from('1') }], 1);
    changelog.append(0, 'x', '1');
    changelog.append(0, 'x', null);
    changelog.append(0, 'y', '1');
    changelog.deleteBefore(0, 2);
    const logger = recordingLogger();
    const part = new TablePartition<number>(0, store, logger);
    await restorePartitions(
      { table: 't', changelog: 'c', reader: changelog, store, logger, signal: new AbortController().signal },
      [part],
    );
    expect(contents(store, 0)).to.deep.equal({ y: '1' });
    expect(store.checkpoint(0)).to.equal(3);
    expect(logger.warnings).to.have.length(1);
  });

  it('empties the copy when retention deleted every record of the range', async () => {
    const changelog = new FakeChangelog(1);
    const store = new MemoryTableStore();
    await store.apply(0, [{ key: Buffer.from('x'), value: Buffer.from('1') }], 1);
    changelog.append(0, 'x', '1');
    changelog.append(0, 'x', null);
    changelog.deleteBefore(0, 2);
    const part = new TablePartition<number>(0, store, recordingLogger());
    await restorePartitions(
      {
        table: 't',
        changelog: 'c',
        reader: changelog,
        store,
        logger: recordingLogger(),
        signal: new AbortController().signal,
      },
      [part],
    );
    expect(contents(store, 0)).to.deep.equal({});
  });
});
