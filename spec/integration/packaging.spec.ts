import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { waitFor } from '../../lib/testing/index.js';
import { npm, run, userEnv } from '../support/npm.js';

/**
 * Installing rivulet as a user would, from outside the repository: from git (the `prepare` script builds
 * dist/), from a fresh clone's folder and from the packed tarball; then `npx rivulet worker app.ts` with and
 * without tsx in the user's project, and a stack trace through the installed package. Uses the committed
 * HEAD (what a git install gets), and the npm cache where it can (`--prefer-offline`).
 */
describe('installing rivulet from source, from git and as a tarball', function () {
  this.timeout(300_000);
  let root: string;
  let clone: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'rivulet-packaging-'));
    clone = join(root, 'rivulet');
    const repository = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${repository}`, clone]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('from git: prepare builds dist/; a .ts app module asks for tsx until the project has it, then runs', async () => {
    const project = userProject('from-git');
    await npm(project, 'install', `git+file://${clone}`);
    expect(existsSync(join(project, 'node_modules/rivulet/dist/index.js'))).to.equal(true);
    expect(existsSync(join(project, 'node_modules/rivulet/dist/cli/main.js'))).to.equal(true);

    const refused = await run(project, 'npx', ['rivulet', 'worker', 'app.ts', '--port', '0']);
    expect(refused.code).to.equal(2);
    expect(refused.stdout).to.equal('');
    expect(refused.stderr).to.equal(
      'rivulet: app.ts is TypeScript, and tsx is not installed in your project: run `npm install -D tsx` in ' +
        'your project, or build the module to JavaScript and pass the .js file\n',
    );

    await npm(project, 'install', '-D', 'tsx');
    await runWorker(project);
  });

  it("from a fresh clone's folder and from its npm pack tarball; stack traces point at .ts lines", async () => {
    // a fresh clone: no node_modules, no dist/ (prepare installs the dev dependencies and builds)
    expect(existsSync(join(clone, 'node_modules'))).to.equal(false);
    const linked = userProject('from-folder');
    await npm(linked, 'install', clone);
    expect(existsSync(join(clone, 'dist/index.js'))).to.equal(true);
    expectStackInTypeScript(linked);

    const tarball = (await npm(clone, 'pack', '--pack-destination', root)).trim().split('\n').pop()!;
    const packed = userProject('from-tarball');
    await npm(packed, 'install', join(root, tarball), 'tsx');
    expect(existsSync(join(packed, 'node_modules/rivulet/lib/app/app.ts'))).to.equal(true);
    expectStackInTypeScript(packed);
    await runWorker(packed);
  });

  /** A new ESM project with an app module (memory://) and a script that makes rivulet throw. */
  function userProject(name: string): string {
    const project = join(root, name);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }),
    );
    writeFileSync(
      join(project, 'app.ts'),
      [
        "import { createApp } from 'rivulet';",
        '',
        "const app = createApp({ id: 'packaged', broker: 'memory://packaged' });",
        "const numbers = app.topic<number>('numbers', { partitions: 1 });",
        "app.agent('pass', numbers, (number$) => number$);",
        'export default app;',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'throw.mjs'),
      "import { createApp } from 'rivulet';\ncreateApp({ id: '' });\n",
    );
    return project;
  }

  /** `node --enable-source-maps` shows an error thrown inside rivulet at a line of its .ts source, shipped. */
  function expectStackInTypeScript(project: string): void {
    let stderr = '';
    try {
      execFileSync(process.execPath, ['--enable-source-maps', 'throw.mjs'], { cwd: project, stdio: 'pipe' });
      expect.fail('createApp without an id should have thrown');
    } catch (error) {
      stderr = String((error as { stderr?: Buffer }).stderr);
    }
    const frame = /at new App \((.*[/\\]rivulet[/\\]lib[/\\]app[/\\]app\.ts):\d+:\d+\)/.exec(stderr);
    expect(frame, stderr).to.not.equal(null);
    expect(existsSync(frame![1]!), `${frame![1]} exists`).to.equal(true);
  }

  /**
   * `rivulet worker app.ts --port 0` (the bin npx runs, started directly so that SIGTERM reaches it) starts,
   * runs the agent, and stops with 0 on SIGTERM.
   */
  async function runWorker(project: string): Promise<void> {
    const child = spawn(join(project, 'node_modules/.bin/rivulet'), ['worker', 'app.ts', '--port', '0'], {
      cwd: project,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    try {
      await waitFor(() => stdout.includes('"msg":"agent started"') || child.exitCode !== null, {
        timeoutMs: 60_000,
        description: 'the worker to start its agent',
      });
      expect(stdout, stderr).to.contain('worker listening');
      child.kill('SIGTERM');
      expect(await exited, stderr).to.equal(0);
      expect(stdout).to.contain('worker stopped gracefully');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
});
