import { type ChildProcess, spawn } from 'node:child_process';
import { expect } from 'chai';
import { services } from '../support/services.js';

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output(): string;
}

/** `npm start` (samples/start.ts), as `npm start` runs it, with extra environment variables. */
function npmStart(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'samples/start.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, exited, output: () => output };
}

const waitFor = async (condition: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Starts `npm start`, waits until its apps run plus `afterMs`, sends SIGINT, and measures the exit. */
async function interrupt(env: Record<string, string>, afterMs: number) {
  const run = npmStart(env);
  await waitFor(() => run.output().includes('broker:'), 30_000); // the samples are set up
  await new Promise((resolve) => setTimeout(resolve, afterMs)); // the scenario: Ctrl-C after 3 s
  const signalled = Date.now();
  run.child.kill('SIGINT');
  const exit = await Promise.race([
    run.exited,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
  ]);
  if (!exit) run.child.kill('SIGKILL');
  return { exit, exitMs: exit ? exit.at - signalled : Infinity, output: run.output() };
}

describe('npm start: Ctrl-C', function () {
  this.timeout(240_000);

  it('on memory://: SIGINT after 3 s exits 0 within 2 s', async () => {
    const { exit, exitMs, output } = await interrupt(
      { SAMPLE_ACTIVITIES: '200000', SAMPLE_ORDERS: '50000' },
      3000,
    );
    console.log(`      memory://: exited ${exit?.code ?? exit?.signal} ${exitMs} ms after SIGINT`);
    expect(output, 'interrupted mid-stream').to.include('Ctrl-C: stopping');
    expect(exit?.code, output).to.equal(0);
    expect(exitMs).to.be.below(2000);
  });

  it('on Kafka: SIGINT after 3 s exits 0 within 2 s, and a second run settles everything the first did not', async () => {
    const env = { KAFKA_URL: `kafka://${services.kafkaBrokers.join(',')}` };
    // smaller than on memory://: the second run has to work through what the first left, on a busy machine
    const first = await interrupt({ ...env, SAMPLE_ACTIVITIES: '60000', SAMPLE_ORDERS: '15000' }, 3000);
    console.log(
      `      Kafka: first run exited ${first.exit?.code ?? first.exit?.signal} ${first.exitMs} ms after SIGINT`,
    );
    expect(first.output, 'interrupted mid-stream').to.include('Ctrl-C: stopping');
    expect(first.exit?.code, first.output).to.equal(0);
    expect(first.exitMs).to.be.below(2000);

    // generates nothing: it exits by itself only once every agent committed up to the end of its topic,
    // i.e. after what the first run left unsettled was delivered again and settled
    const second = npmStart({ ...env, SAMPLE_ACTIVITIES: '0', SAMPLE_ORDERS: '0' });
    const started = Date.now();
    const exit = await Promise.race([
      second.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 180_000)),
    ]);
    if (!exit) second.child.kill('SIGKILL');
    console.log(
      `      Kafka: second run caught up and exited ${exit?.code} after ${Date.now() - started} ms`,
    );
    expect(exit?.code, second.output()).to.equal(0);
    const settled = /settled[^\d]*(\d+)/i.exec(second.output());
    console.log(
      `      Kafka: second run summary: ${second
        .output()
        .split('\n')
        .filter((line) => /settled|summary/i.test(line))
        .join(' | ')
        .slice(0, 400)}`,
    );
    expect(settled, 'summary printed').to.not.equal(null);
  });
});
