import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { findTsx, isTypeScript } from '../../../lib/cli/typescript-loader.js';

describe('finding the tsx of the user project', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'rivulet-tsx-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function installTsx(project: string, manifest: object): void {
    const dir = join(project, 'node_modules', 'tsx');
    mkdirSync(join(dir, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tsx', ...manifest }));
    writeFileSync(join(dir, 'dist', 'api.mjs'), '');
    writeFileSync(join(dir, 'dist', 'api.cjs'), '');
  }

  it('resolves tsx/esm/api from the first directory that sees it, walking up as require does', () => {
    const app = join(root, 'project', 'src', 'apps');
    mkdirSync(app, { recursive: true });
    installTsx(join(root, 'project'), {
      version: '4.9.0',
      exports: {
        './package.json': './package.json',
        './esm/api': { import: { default: './dist/api.mjs' } },
        './cjs/api': { require: './dist/api.cjs' },
      },
    });
    expect(findTsx([app, root])).to.deep.equal({
      version: '4.9.0',
      esmApi: join(root, 'project', 'node_modules', 'tsx', 'dist', 'api.mjs'),
      cjsApi: join(root, 'project', 'node_modules', 'tsx', 'dist', 'api.cjs'),
    });
  });

  it('finds nothing where tsx is not installed, and no ESM API in a tsx too old to have one', () => {
    const bare = join(root, 'bare');
    mkdirSync(bare);
    expect(findTsx([bare])).to.equal(undefined);
    installTsx(join(root, 'old'), { version: '3.0.0', exports: { './package.json': './package.json' } });
    expect(findTsx([join(root, 'old')])).to.include({ version: '3.0.0', esmApi: undefined });
  });

  it('knows TypeScript file names', () => {
    for (const name of ['app.ts', 'app.mts', 'app.cts', 'app.tsx', 'APP.TS'])
      expect(isTypeScript(name)).to.equal(true);
    for (const name of ['app.js', 'app.mjs', 'app.ts.js', 'ts']) expect(isTypeScript(name)).to.equal(false);
  });
});
