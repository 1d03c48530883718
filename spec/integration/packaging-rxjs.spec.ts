import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { backoffDelay } from '../../lib/index.js';
import { seeded } from '../support/marbles.js';
import { npm, run } from '../support/npm.js';

/** What the user's marble test (`marble.mjs`) prints. */
interface MarbleRun {
  /** Offsets the sink gave up on, and the virtual frame it did. */
  readonly failed: { offset: number; frame: number; error: string }[];
  /** Frames at which `periodicTimer(1000)` fired (twice). */
  readonly ticks: number[];
  readonly attempts: number;
  /** Real time `scheduler.run` took. */
  readonly realMs: number;
  /** How many copies of rxjs the app and rivulet resolve between them. */
  readonly copies: number;
  /** Codes of the process warnings. */
  readonly warnings: string[];
}

/**
 * One rxjs (issue 16, finding 5): rivulet installed into a fresh Rx app, from the packed tarball and from a
 * folder, and in each a marble test of the app (`TestScheduler.run` of the app's rxjs) with a failing sink
 * that retries with jittered backoff, and a `periodicTimer`. A tarball (and a git URL) gives rivulet the
 * app's rxjs, its peer dependency: every timer is virtual on the default scheduler, and the frames are the
 * same run after run with the seeded `random`. A plain folder install is a symlink: Node resolves rxjs
 * from the folder's realpath, so rivulet loads the folder's own copy; `testPipeline` warns, the frames
 * are right with the scheduler passed explicitly, and `--install-links` installs the folder as a copy.
 */
describe('one rxjs: a marble test of the app drives rivulet’s timers, however rivulet was installed', function () {
  this.timeout(600_000);
  let root: string;
  let clone: string;
  /** The frame the failing sink gives up at: five attempts of 1 ms and the four seeded delays between them. */
  const random = seeded(16);
  const expectedFrame =
    5 + [1, 2, 3, 4].reduce((sum, retry) => sum + backoffDelay({ initialDelayMs: 1000 }, retry, random), 0);
  const expected = {
    failed: [{ offset: 0, frame: expectedFrame, error: 'SinkError' }],
    ticks: [1000, 2000],
    attempts: 5,
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'rivulet-one-rxjs-'));
    clone = join(root, 'rivulet');
    const repository = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${repository}`, clone]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a folder install (a symlink) loads the folder’s rxjs: testPipeline warns; with the scheduler passed, the frames are exact and repeat', async () => {
    const project = rxApp('from-folder');
    await npm(project, 'install', 'rxjs@^7.8.0', clone);

    const unaided = await marble(project);
    expect(unaided.copies, 'the symlinked rivulet resolves rxjs from its folder').to.equal(2);
    expect(unaided.warnings).to.deep.equal(['RIVULET_OTHER_RXJS']);
    expect(unaided.failed, 'the default timers run in real time, outside scheduler.run').to.deep.equal([]);
    expect(unaided.ticks).to.deep.equal([]);

    const first = await marble(project, '--scheduler');
    expect(first).to.deep.include(expected);
    expect((await marble(project, '--scheduler')).failed).to.deep.equal(first.failed);
  });

  it('from the npm pack tarball: one rxjs, every timer virtual on the default scheduler, the same frames on every run', async () => {
    const tarball = (await npm(clone, 'pack', '--pack-destination', root)).trim().split('\n').pop()!;
    const project = rxApp('from-tarball');
    // an app on an older rxjs 7.8 than rivulet's own: a dependency would get a copy of its own, a peer none
    await npm(project, 'install', 'rxjs@7.8.1', join(root, tarball));

    const first = await marble(project);
    expect(first).to.deep.include({ ...expected, copies: 1, warnings: [] });
    expect(first.failed[0]!.frame % 1, 'jittered: a fractional frame').to.not.equal(0);
    expect(first.realMs, 'about 15 s of virtual time, in far less real time').to.be.below(2000);
    const second = await marble(project);
    expect(second.failed).to.deep.equal(first.failed);
    expect(second.ticks).to.deep.equal(first.ticks);
  });

  it('a folder installed with --install-links is a copy, as a tarball: one rxjs, virtual on the default scheduler', async () => {
    const project = rxApp('from-folder-copied');
    await npm(project, 'install', '--install-links', 'rxjs@^7.8.0', clone);
    const first = await marble(project);
    expect(first).to.deep.include({ ...expected, copies: 1, warnings: [] });
    expect((await marble(project)).failed).to.deep.equal(first.failed);
  });

  it('from a git URL (npm packs it, as a tarball): one rxjs, the same exact frames', async () => {
    const project = rxApp('from-git');
    await npm(project, 'install', 'rxjs@^7.8.0', `git+file://${clone}`);
    const first = await marble(project);
    expect(first).to.deep.include({ ...expected, copies: 1, warnings: [] });
    expect((await marble(project)).failed).to.deep.equal(first.failed);
  });

  /** Runs the app's marble test; `--scheduler` passes the TestScheduler to rivulet explicitly. */
  async function marble(project: string, ...args: string[]): Promise<MarbleRun> {
    const result = await run(project, process.execPath, ['marble.mjs', ...args]);
    expect(result.code, result.stderr).to.equal(0);
    return JSON.parse(result.stdout) as MarbleRun;
  }

  /** A new ESM project whose marble test (`marble.mjs`) runs a failing sink and a timer under TestScheduler.run. */
  function rxApp(name: string): string {
    const project = join(root, name);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }),
    );
    writeFileSync(join(project, 'marble.mjs'), MARBLE_TEST);
    return project;
  }
});

/** The user's marble test, as an app that already uses rxjs would write it. */
const MARBLE_TEST = `import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { periodicTimer, sink } from 'rivulet';
import { testPipeline } from 'rivulet/testing';

const explicit = process.argv.includes('--scheduler');
const warnings = [];
process.on('warning', (warning) => warnings.push(warning.code ?? warning.name));

/** mulberry32: the same numbers in [0, 1) on every run. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const scheduler = new TestScheduler((actual, expected) => {
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    throw new Error('expected ' + JSON.stringify(expected) + ', got ' + JSON.stringify(actual));
});
const timers = explicit ? { scheduler } : {};
const failed = [];
const ticks = [];
let attempts = 0;
const started = performance.now();
scheduler.run(({ cold, flush }) => {
  const failing = sink(
    () => {
      attempts++;
      return cold('-#', undefined, new Error('down'));
    },
    { name: 'down', retry: { retries: 4, backoff: { initialDelayMs: 1000, random: seeded(16) } }, ...timers },
  );
  const run = testPipeline((message$) => message$.pipe(failing), cold('a|', { a: 1 }));
  run.failed.subscribe(({ offset, error }) => failed.push({ offset, frame: scheduler.now(), error: error.name }));
  periodicTimer(1000, timers).pipe(take(2)).subscribe(() => ticks.push(scheduler.now()));
  flush();
});
const realMs = performance.now() - started;
const rxjsFrom = (file) => createRequire(file).resolve('rxjs');
const rivulet = realpathSync(fileURLToPath(import.meta.resolve('rivulet')));
const copies = new Set([rxjsFrom(fileURLToPath(import.meta.url)), rxjsFrom(rivulet)]).size;
// warnings come on the next tick; real timers left by a second rxjs must not hold the process
setImmediate(() => {
  console.log(JSON.stringify({ failed, ticks, attempts, realMs, copies, warnings }));
  process.exit(0);
});
`;
