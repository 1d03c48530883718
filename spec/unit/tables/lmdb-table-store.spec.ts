import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  it('after a SIGKILL in the middle of writes, holds exactly the batches its checkpoint names', async function () {
    this.timeout(30_000);
    const path = mkdtempSync(join(tmpdir(), 'rivulet-lmdb-'));
    directories.push(path);
    const writer = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/lmdb-writer.ts', import.meta.url)), path],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    writer.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      writer.once('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      writer.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('batch 200\n')) resolve();
      });
      void exited.then(() => reject(new Error(`the writer exited early: ${stderr}`)));
    });
    writer.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');

    const store = LmdbTableStore.open({ path });
    try {
      const checkpoint = store.checkpoint(0)!;
      expect(checkpoint).to.be.at.least(200);
      expect(store.size(0), 'every key of the batches up to the checkpoint, none after').to.equal(
        checkpoint * 50,
      );
      expect(store.get(0, Buffer.from(`b${checkpoint}-49`))?.toString()).to.equal(String(checkpoint));
      expect(store.get(0, Buffer.from(`b${checkpoint + 1}-0`))).to.equal(undefined);
    } finally {
      await store.close();
    }
  });

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
