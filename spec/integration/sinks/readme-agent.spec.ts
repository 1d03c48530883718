import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../lib/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/readme-agent.ts', import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 3000; // the fixture's shutdownTimeoutMs

/** A port nothing listens on (bound once by the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Line {
  readonly at: number;
  readonly text: string;
  readonly msg: string;
}

/**
 * The README's first agent, run as it stands (issue 11): Redis is down from the start. It must say so
 * plainly, once per backoff step, without ioredis's "Unhandled error event", dead-letter nothing, and
 * stop promptly on Ctrl-C.
 */
describe('the README agent with Redis down', function () {
  this.timeout(60_000);

  it('logs "redis sink failing … ECONNREFUSED" per backoff step, dead-letters nothing, and exits on SIGINT within shutdownTimeoutMs', async () => {
    const port = await closedPort();
    const startedAt = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        KAFKA_URL: 'memory://readme',
        RIVULET_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Line[] = [];
    const collect = (chunk: Buffer, rest: { text: string }) => {
      rest.text += chunk.toString('utf8');
      const parts = rest.text.split('\n');
      rest.text = parts.pop() ?? '';
      for (const text of parts) {
        let msg = text;
        try {
          msg = String((JSON.parse(text) as { msg?: unknown }).msg ?? text);
        } catch {
          // not a JSON log line (`ready`, or whatever ioredis prints)
        }
        lines.push({ at: Date.now() - startedAt, text, msg });
      }
    };
    const out = { text: '' };
    const err = { text: '' };
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, out));
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, err));
    let exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        exit = { code, signal, at: Date.now() };
        resolve();
      }),
    );
    const failing = () =>
      // the first line when the agent pauses, then one per backoff step while it stays down
      lines.filter(
        (line) => /redis sink (still )?failing/.test(line.msg) && line.msg.includes('ECONNREFUSED'),
      );
    try {
      await waitFor(() => lines.some((line) => line.text === 'ready') || exit !== undefined, {
        timeoutMs: 30_000,
        description: 'the agent ready',
      });
      expect(exit, `exited early:\n${lines.map((l) => l.text).join('\n')}`).to.equal(undefined);
      const readyAt = lines.find((line) => line.text === 'ready')!.at;
      await waitFor(() => failing().length >= 2 || exit !== undefined, {
        timeoutMs: 20_000,
        intervalMs: 50,
      }).catch(() => undefined);
      const reminders = lines.filter((line) => line.msg.includes('redis sink still failing'));
      console.log(
        `      ready at ${readyAt} ms; "redis sink failing" lines at: ${failing()
          .map((line) => `${line.at} ms`)
          .join(', ')}; "still failing" reminders at: ${reminders.map((line) => `${line.at} ms`).join(', ')}`,
      );
      expect(
        failing().length,
        `two "redis sink failing … ECONNREFUSED" lines within 20 s; saw:\n${lines.map((l) => `${l.at} ${l.msg}`).join('\n')}`,
      ).to.be.at.least(2);
      expect(failing()[0]!.msg).to.match(
        /^redis sink failing: .*ECONNREFUSED.*; .*paused, retrying in \d+\.\d s$/,
      );
      expect(lines.filter((line) => line.text.includes('Unhandled error event'))).to.deep.equal([]);
      expect(
        lines.filter((line) => /dead-letter|processing failed for good/i.test(line.text)),
        'nothing dead-lettered',
      ).to.deep.equal([]);

      const interruptedAt = Date.now();
      child.kill('SIGINT');
      await Promise.race([exited, waitFor(() => false, { timeoutMs: 10_000 }).catch(() => undefined)]);
      expect(exit, 'exited after SIGINT').to.not.equal(undefined);
      const tookMs = exit!.at - interruptedAt;
      console.log(`      SIGINT → exit in ${tookMs} ms (code ${exit!.code}, signal ${exit!.signal})`);
      expect(tookMs, 'exit within shutdownTimeoutMs (+ 1 s of process teardown)').to.be.below(
        SHUTDOWN_TIMEOUT_MS + 1000,
      );
      expect(lines.filter((line) => line.text.includes('Unhandled error event'))).to.deep.equal([]);
    } finally {
      if (exit === undefined) child.kill('SIGKILL');
      await exited;
    }
  });
});
