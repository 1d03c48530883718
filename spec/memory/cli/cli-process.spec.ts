import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { expect } from 'chai';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `rivulet <args>` as a child process, with no broker in its environment. */
async function rivulet(...args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.RIVULET_BROKER;
  delete env.KAFKA_URL;
  delete env.RIVULET_DEBUG;
  const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('rivulet send and tail as a user runs them', () => {
  it('tail on the default memory:// broker says it needs a shared broker and exits 2 (not 13 in silence)', async () => {
    expect(await rivulet('tail', 'orders')).to.deep.equal({
      code: 2,
      stdout: '',
      stderr:
        'rivulet: tail needs a shared broker: memory:// lives inside one process, so this one would wait ' +
        'forever on a topic nobody else can write to. Pass --broker kafka://host:9092 or set KAFKA_URL (or RIVULET_BROKER)\n',
    });
  });

  it('send to memory:// refuses instead of reporting an offset for a record that vanishes', async () => {
    const run = await rivulet('send', 'orders', '{"n":1}', '--broker', 'memory://');
    expect(run.code).to.equal(2);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.match(/^rivulet: send needs a shared broker: .*--broker kafka:\/\/host:9092.*\n$/);
  });

  it('an unreachable kafka is one line on stderr, nothing on stdout', async function () {
    this.timeout(60_000);
    // A connection attempt is one try (the Kafka transport's probe retries nothing): it fails at once.
    expect(await rivulet('send', 'orders', '{"n":1}', '--broker', 'kafka://127.0.0.1:1')).to.deep.equal({
      code: 1,
      stdout: '',
      stderr: 'rivulet: cannot reach kafka at 127.0.0.1:1: Connection error: connect ECONNREFUSED\n',
    });
  });
});

describe('rivulet help and version (issue 16 finding 9)', () => {
  const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

  for (const args of [['--help'], ['help'], ['-h']]) {
    it(`rivulet ${args.join(' ')} prints the usage and the commands on stdout and exits 0`, async () => {
      const run = await rivulet(...args);
      expect(run).to.include({ code: 0, stderr: '' });
      expect(run.stdout).to.match(/^Usage: rivulet \[options\] \[command\]\n/);
      expect(run.stdout)
        .to.include('worker [options] <app-module>')
        .and.include('send [options] <topic> <json>');
    });
  }

  for (const args of [
    ['worker', '--help'],
    ['help', 'worker'],
  ]) {
    it(`rivulet ${args.join(' ')} prints the worker's usage and exits 0`, async () => {
      const run = await rivulet(...args);
      expect(run).to.include({ code: 0, stderr: '' });
      expect(run.stdout).to.match(/^Usage: rivulet worker \[options\] <app-module>\n/);
      expect(run.stdout).to.include('--port <port>');
    });
  }

  it('rivulet --version prints the version and exits 0', async () => {
    expect(await rivulet('--version')).to.deep.equal({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('an unknown command is still a usage error: exit 1, one line from commander, nothing more', async () => {
    expect(await rivulet('bogus')).to.deep.equal({
      code: 1,
      stdout: '',
      stderr: "error: unknown command 'bogus'\n",
    });
  });
});
