import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** In a fresh process: imports rivulet, runs `then`, and lists which of the lazy dependencies are loaded. */
async function loadedAfter(then: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const rivulet = await import('./lib/index.ts');
    await import('./lib/kafka.ts');
    ${then}
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const loaded = ['prom-client', 'cron-parser', 'pino'].filter((name) =>
      cache.some((file) => file.includes(\`/node_modules/\${name}/\`)),
    );
    process.stdout.write(JSON.stringify(loaded));`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, RIVULET_LOG_LEVEL: 'silent' },
  });
  return JSON.parse(stdout) as string[];
}

describe('rarely used dependencies', () => {
  it('are not loaded by importing rivulet (prom-client, cron-parser, pino: several MiB of every process)', async () => {
    expect(await loadedAfter('')).to.deep.equal([]);
  });

  it('are loaded by the first use: a metric, a crontab, the default logger', async () => {
    expect(
      await loadedAfter(`
        rivulet.crontab('0 * * * *');
        rivulet.defaultLogger('spec').info({}, 'hello');
        rivulet.appMetrics(rivulet.createApp({ id: 'spec', logger: rivulet.silentLogger }));`),
    ).to.deep.equal(['prom-client', 'cron-parser', 'pino']);
  });
});
