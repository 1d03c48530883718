import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { codeBlocks } from '../../scripts/readme-blocks.js';
import { waitFor } from '../../lib/testing/index.js';

describe("the README's first agent (issue 16 finding 6)", () => {
  it('runs with nothing but Node: on memory:// and MemoryRedis it writes the activity it sent, and stops on SIGTERM', async function () {
    this.timeout(30_000);
    const block = codeBlocks(readFileSync('README.md', 'utf8')).find(
      ({ heading, kind }) => heading === 'A first agent' && kind === 'complete',
    );
    expect(block, 'a complete ts block under "A first agent"').to.not.equal(undefined);
    const folder = join('.cache', 'readme-first-agent');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'feed.ts'), block!.code);

    const env: NodeJS.ProcessEnv = { ...process.env, RIVULET_LOG_LEVEL: 'info' };
    for (const name of ['KAFKA_URL', 'REDIS_URL', 'RIVULET_BROKER']) delete env[name];
    const child = spawn(process.execPath, ['--import', 'tsx', join(folder, 'feed.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit');
    try {
      await waitFor(() => stdout.includes('saved ada: hello\n') || child.exitCode !== null, {
        timeoutMs: 20_000,
        description: `"saved ada: hello" from the first agent (stdout: ${stdout}, stderr: ${stderr})`,
      });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await exited) as [number | null];
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.include('saved ada: hello\n');
    expect(stdout).to.not.include('sink failing');
    // written before it settled, settled before it was committed: the agent's last words say so
    expect(stdout).to.match(/"agent":"save-activities".*"received":1,"settled":1,.*"msg":"agent stopped"/);
  });
});
