import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbTableStore } from '../../../lib/lmdb.js';
import { tableStoreContract } from './table-store.contract.js';

const directories: string[] = [];
const paths = new WeakMap<object, string>();
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

tableStoreContract({
  name: 'LmdbTableStore',
  create: () => {
    const path = mkdtempSync(join(tmpdir(), 'rivulet-lmdb-'));
    directories.push(path);
    const store = LmdbTableStore.open({ path });
    paths.set(store, path);
    return store;
  },
  reopen: async (store) => {
    const path = paths.get(store)!;
    await store.close();
    const reopened = LmdbTableStore.open({ path });
    paths.set(reopened, path);
    return reopened;
  },
});

describe('LmdbTableStore', () => {
  it('refuses keys longer than LMDB allows, before writing anything', async () => {
    const path = mkdtempSync(join(tmpdir(), 'rivulet-lmdb-'));
    directories.push(path);
    const store = LmdbTableStore.open({ path });
    try {
      let error: unknown;
      try {
        await store.apply(
          0,
          [
            { key: Buffer.from('ok'), value: Buffer.from('1') },
            { key: Buffer.alloc(1978), value: Buffer.from('x') },
          ],
          2,
        );
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(RangeError);
      expect(store.get(0, Buffer.from('ok'))).to.equal(undefined);
      expect(store.checkpoint(0)).to.equal(undefined);
    } finally {
      await store.close();
    }
  });
});
