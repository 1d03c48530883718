import { expect } from 'chai';
import {
  CheckpointRegressionError,
  StoreClosedError,
  type StoreChange,
  type TableStore,
} from '../../../lib/tables/stores/table-store.js';

/** How the contract suite gets a fresh store of a driver, and (for persistent ones) reopens it. */
export interface StoreDriver {
  readonly name: string;
  create(): Promise<TableStore> | TableStore;
  /** Closes the store and opens the same data again; absent for stores that keep nothing. */
  reopen?(store: TableStore): Promise<TableStore>;
}

const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const put = (key: string, value: string): StoreChange => ({ key: b(key), value: b(value) });
const del = (key: string): StoreChange => ({ key: b(key), value: null });
const text = (buffer: Buffer | undefined): string | undefined => buffer?.toString('utf8');
const all = (store: TableStore, partition: number): string[] => {
  const keys: string[] = [];
  let after: Buffer | undefined;
  for (;;) {
    const page = store.keys(partition, { limit: 2, ...(after ? { after } : {}) });
    keys.push(...page.keys.map((key) => key.toString('utf8')));
    if (!page.next) return keys;
    after = page.next;
  }
};

/** The behaviour every {@link TableStore} driver shares: one spec body, run against each driver. */
export function tableStoreContract(driver: StoreDriver): void {
  describe(`table store contract: ${driver.name}`, () => {
    let store: TableStore;
    beforeEach(async () => (store = await driver.create()));
    afterEach(async () => {
      try {
        await store.close();
      } catch {
        // closed by the test
      }
    });

    it('starts empty: no value, no checkpoint, no partitions', () => {
      expect(store.get(0, b('a'))).to.equal(undefined);
      expect(store.checkpoint(0)).to.equal(undefined);
      expect(store.size(0)).to.equal(0);
      expect(store.keys(0).keys).to.deep.equal([]);
      expect(store.partitions()).to.deep.equal([]);
    });

    it('applies puts and deletes in order, with the checkpoint they bring the partition to', async () => {
      await store.apply(0, [put('a', '1'), put('b', '2'), put('a', '3'), del('b'), put('c', '4')], 5);
      expect(text(store.get(0, b('a')))).to.equal('3');
      expect(store.get(0, b('b'))).to.equal(undefined);
      expect(text(store.get(0, b('c')))).to.equal('4');
      expect(store.checkpoint(0)).to.equal(5);
      expect(store.size(0)).to.equal(2);
      await store.apply(0, [del('a'), del('missing')], 7);
      expect(store.get(0, b('a'))).to.equal(undefined);
      expect(store.size(0)).to.equal(1);
      expect(store.checkpoint(0)).to.equal(7);
    });

    it('keeps partitions apart: same key, different values and checkpoints', async () => {
      await store.apply(0, [put('k', 'zero')], 1);
      await store.apply(2, [put('k', 'two'), put('x', 'y')], 10);
      expect(text(store.get(0, b('k')))).to.equal('zero');
      expect(text(store.get(2, b('k')))).to.equal('two');
      expect(store.get(1, b('k'))).to.equal(undefined);
      expect([store.checkpoint(0), store.checkpoint(1), store.checkpoint(2)]).to.deep.equal([
        1,
        undefined,
        10,
      ]);
      expect([store.size(0), store.size(2)]).to.deep.equal([1, 2]);
      expect(store.partitions()).to.deep.equal([0, 2]);
    });

    it('records a checkpoint with no changes (an empty replay), and allows the same offset again', async () => {
      await store.apply(4, [], 0);
      expect(store.checkpoint(4)).to.equal(0);
      expect(store.partitions()).to.deep.equal([4]);
      await store.apply(4, [put('a', '1')], 0);
      expect(text(store.get(4, b('a')))).to.equal('1');
    });

    it('refuses to move a checkpoint back, and leaves the partition unchanged', async () => {
      await store.apply(0, [put('a', '1')], 10);
      let error: unknown;
      try {
        await store.apply(0, [put('a', 'stale')], 9);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(CheckpointRegressionError);
      expect(error).to.include({ partition: 0, checkpoint: 10, changelogOffset: 9 });
      expect(text(store.get(0, b('a')))).to.equal('1');
      expect(store.checkpoint(0)).to.equal(10);
    });

    it('rejects offsets and partitions that are not non-negative integers', async () => {
      for (const [partition, offset] of [
        [0, -1],
        [0, 1.5],
        [-1, 0],
        [0.5, 0],
      ] as const) {
        let error: unknown;
        try {
          await store.apply(partition, [], offset);
        } catch (caught) {
          error = caught;
        }
        expect(error, `apply(${partition}, [], ${offset})`).to.be.instanceOf(RangeError);
      }
      expect(store.partitions()).to.deep.equal([]);
    });

    it('stores any bytes as keys and values: empty, zero bytes, non-UTF-8', async () => {
      const keys = [Buffer.alloc(0), Buffer.of(0), Buffer.of(0, 0), Buffer.of(0xff, 0xfe), b('é')];
      await store.apply(
        1,
        keys.map((key, i) => ({ key, value: Buffer.of(i, 0, 0xff) })),
        1,
      );
      keys.forEach((key, i) =>
        expect(store.get(1, key), key.toString('hex')).to.deep.equal(Buffer.of(i, 0, 0xff)),
      );
      expect(store.size(1)).to.equal(keys.length);
      const listed = store.keys(1, { limit: 10 }).keys.map((key) => key.toString('hex'));
      expect(listed).to.deep.equal([...keys].sort(Buffer.compare).map((key) => key.toString('hex')));
    });

    it('does not keep a reference to the caller’s value buffers', async () => {
      const value = b('before');
      await store.apply(0, [{ key: b('k'), value }], 1);
      value.write('after!');
      expect(text(store.get(0, b('k')))).to.equal('before');
    });

    it('lists keys in byte order, page by page, each key once', async () => {
      const keys = ['b', 'a', 'ab', 'c', 'aa', 'ba', 'd'];
      await store.apply(
        3,
        keys.map((key) => put(key, key)),
        keys.length,
      );
      const first = store.keys(3, { limit: 3 });
      expect(first.keys.map(String)).to.deep.equal(['a', 'aa', 'ab']);
      expect(first.next && String(first.next)).to.equal('ab');
      expect(all(store, 3)).to.deep.equal([...keys].sort());
      expect(store.keys(3, { after: b('b'), limit: 100 }).keys.map(String)).to.deep.equal(['ba', 'c', 'd']);
      expect(store.keys(3, { after: b('bz') }).keys.map(String)).to.deep.equal(['c', 'd']);
      expect(store.keys(3, { after: b('d') })).to.deep.equal({ keys: [] });
      expect(store.keys(3, { limit: 7 }).next, 'a full last page has no next').to.equal(undefined);
      expect(() => store.keys(3, { limit: 0 })).to.throw(RangeError);
    });

    it('pages see a write made between two pages', async () => {
      await store.apply(
        0,
        ['a', 'b', 'c', 'd'].map((key) => put(key, key)),
        4,
      );
      const first = store.keys(0, { limit: 2 });
      await store.apply(0, [put('bb', 'new'), del('c')], 5);
      expect(store.keys(0, { after: first.next!, limit: 10 }).keys.map(String)).to.deep.equal(['bb', 'd']);
    });

    it('drops a partition (keys and checkpoint) and leaves the others', async () => {
      await store.apply(0, [put('a', '1')], 1);
      await store.apply(1, [put('a', '2'), put('b', '3')], 2);
      await store.dropPartition(1);
      expect(store.get(1, b('a'))).to.equal(undefined);
      expect(store.checkpoint(1)).to.equal(undefined);
      expect(store.size(1)).to.equal(0);
      expect(store.keys(1).keys).to.deep.equal([]);
      expect(store.partitions()).to.deep.equal([0]);
      expect(text(store.get(0, b('a')))).to.equal('1');
      await store.dropPartition(7); // never held: nothing to do
      // The partition can come back, from scratch (the old checkpoint does not block lower offsets).
      await store.apply(1, [put('c', '4')], 1);
      expect(store.size(1)).to.equal(1);
      expect(store.get(1, b('a'))).to.equal(undefined);
    });

    it('refuses every call after close', async () => {
      await store.apply(0, [put('a', '1')], 1);
      await store.close();
      expect(() => store.get(0, b('a'))).to.throw(StoreClosedError);
      expect(() => store.checkpoint(0)).to.throw(StoreClosedError);
      expect(() => store.keys(0)).to.throw(StoreClosedError);
      expect(() => store.partitions()).to.throw(StoreClosedError);
      let error: unknown;
      try {
        await store.apply(0, [], 2);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(StoreClosedError);
    });

    it('applies a large batch at once', async () => {
      const changes = Array.from({ length: 20_000 }, (_, i) => put(`key-${i}`, `value-${i}`));
      await store.apply(5, changes, 20_000);
      expect(store.size(5)).to.equal(20_000);
      expect(text(store.get(5, b('key-19999')))).to.equal('value-19999');
    });

    if (driver.reopen) {
      const reopen = driver.reopen.bind(driver);
      it('after a reopen, holds the same keys, values and checkpoints, and goes on from them', async () => {
        await store.apply(0, [put('a', '1'), put('b', '2')], 2);
        await store.apply(0, [del('a'), put('c', '3')], 4);
        await store.apply(3, [put('x', 'y')], 9);
        await store.apply(5, [put('gone', '1')], 1);
        await store.dropPartition(5);
        store = await reopen(store);
        expect(store.partitions()).to.deep.equal([0, 3]);
        expect([store.checkpoint(0), store.checkpoint(3), store.checkpoint(5)]).to.deep.equal([
          4,
          9,
          undefined,
        ]);
        expect(all(store, 0)).to.deep.equal(['b', 'c']);
        expect(text(store.get(3, b('x')))).to.equal('y');
        expect(store.size(0)).to.equal(2);
        expect(store.get(5, b('gone'))).to.equal(undefined);
        let error: unknown;
        try {
          await store.apply(0, [], 3);
        } catch (caught) {
          error = caught;
        }
        expect(error, 'the reopened checkpoint still guards').to.be.instanceOf(CheckpointRegressionError);
        await store.apply(0, [put('d', '4')], 5);
        expect(store.checkpoint(0)).to.equal(5);
      });
    }
  });
}
