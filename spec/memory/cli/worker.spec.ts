import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'chai';
import { waitFor } from '../../../lib/testing/index.js';

interface LogLine {
  readonly msg?: string;
  readonly port?: number;
  readonly [field: string]: unknown;
}

/** `rivulet worker <fixture> --port 0` as a child process, with its JSON log lines collected. */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(fixture: string) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', 'lib/cli/main.ts', 'worker', `spec/fixtures/${fixture}`, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RIVULET_LOG_LEVEL: 'info' } },
    );
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  /** The first log line whose message starts with `prefix`, once it is written. */
  async log(prefix: string): Promise<LogLine> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    let found: LogLine | undefined;
    await waitFor(
      () => {
        found = this.logs.find((line) => line.msg?.startsWith(prefix));
        if (!found && exited) throw new Error(`worker exited without logging "${prefix}": ${this.stderr}`);
        return found !== undefined;
      },
      { timeoutMs: 15_000, description: `the log line "${prefix}"` },
    );
    return found!;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

describe('rivulet worker', () => {
  let worker: WorkerProcess | undefined;

  afterEach(() => worker?.kill());

  it('serves /healthz and /metrics while running, and stops gracefully with exit code 0 on SIGTERM', async () => {
    worker = new WorkerProcess('tiny-app.ts');
    const { port } = await worker.log('worker listening');
    expect(port).to.be.a('number').above(0);
    const base = `http://127.0.0.1:${port}`;

    let metrics = '';
    await waitFor(
      async () => {
        metrics = await (await fetch(`${base}/metrics`)).text();
        return /^rivulet_agent_commit_lag\{agent="double",topic="numbers",partition="0"\} 0$/m.test(metrics);
      },
      { timeoutMs: 15_000, description: 'the three numbers to be committed' },
    );
    expect(metrics).to.match(/^rivulet_agent_messages_received_total\{agent="double",topic="numbers"\} 3$/m);
    expect(metrics).to.match(/^rivulet_agent_messages_settled_total\{agent="double",topic="numbers"\} 3$/m);
    expect(metrics).to.match(/^rivulet_agent_commit_lag\{agent="double",topic="numbers",partition="1"\} 0$/m);
    expect(metrics).to.match(/^rivulet_agent_running\{agent="double",topic="numbers"\} 1$/m);
    expect(metrics).to.contain('# TYPE rivulet_sink_write_duration_seconds histogram');
    expect(metrics).to.contain('process_cpu_user_seconds_total');

    const health = await fetch(`${base}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({
      status: 'ok',
      app: 'tiny',
      agents: [{ name: 'double', topic: 'numbers', state: 'running' }],
    });
    expect((await fetch(`${base}/nope`)).status).to.equal(404);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).to.equal(0);
    expect(worker.logs.map((line) => line.msg)).to.include.members([
      'agent stopped',
      'worker stopped gracefully',
    ]);
    const stopped = worker.logs.find((line) => line.msg === 'agent stopped');
    expect(stopped).to.include({ settled: 3, leftForRedelivery: 0 });
  });

  it('exits with code 1 when an agent fails', async () => {
    worker = new WorkerProcess('failing-app.ts');
    expect(await worker.exited).to.equal(1);
    expect(worker.logs.map((line) => line.msg)).to.include('worker stopped: an agent failed');
  });

  it('exits with code 2 and says why when the module exports no App', async () => {
    worker = new WorkerProcess('no-app.ts');
    expect(await worker.exited).to.equal(2);
    expect(worker.stderr).to.contain('exports no App');
  });
});
