import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { committedToEnd, waitFor } from '../../../lib/testing/index.js';
import { readSink, startWorker, type WorkerProcess } from '../support/kafka-worker-process.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: rebalance', function () {
  this.timeout(180_000);
  const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
  const workers: WorkerProcess[] = [];
  after(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await transport.close();
  });

  it('two workers, a third joins and one leaves while processing: nothing lost, no stall', async () => {
    const topic = uniqueName('rebalance');
    const group = uniqueName('rebalance-group');
    const sinkFile = join(mkdtempSync(join(tmpdir(), 'rivulet-rebalance-')), 'sink.txt');
    const total = 30_000;
    await transport.ensureTopics([{ name: topic, partitions: 8 }]);
    const settings = { topic, group, sinkFile, delayMs: 20, concurrency: 16, maxInFlight: 500 };
    workers.push(startWorker({ ...settings, run: 1 }), startWorker({ ...settings, run: 2 }));
    await Promise.all(workers.map((worker) => worker.ready));

    // Produce while the group works, so records keep arriving through both rebalances.
    const producing = (async () => {
      for (let start = 0; start < total; start += 1000) {
        await transport.produce(
          Array.from({ length: 1000 }, (_, i) => ({
            topic,
            key: Buffer.from(`k${start + i}`),
            value: Buffer.from(JSON.stringify({ id: start + i })),
          })),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    await waitFor(() => readSink(sinkFile).length >= total * 0.2, { timeoutMs: 60_000, description: '20%' });
    const third = startWorker({ ...settings, run: 3 });
    workers.push(third);
    await third.ready;
    await waitFor(() => readSink(sinkFile).some((line) => line.run === 3), {
      timeoutMs: 30_000,
      description: 'the third worker to process records',
    });
    await waitFor(() => readSink(sinkFile).length >= total * 0.5, { timeoutMs: 60_000, description: '50%' });
    workers[0]!.child.kill('SIGTERM');
    expect((await workers[0]!.exited).code, workers[0]!.stderr()).to.equal(0);
    await producing;

    await waitFor(() => committedToEnd(transport, group, topic), {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: 'the group to commit to the end (no stall)',
    });
    const lines = readSink(sinkFile);
    const ids = new Set(lines.map((line) => line.id));
    const missing = Array.from({ length: total }, (_, id) => id).filter((id) => !ids.has(id));
    expect(missing, 'ids that never reached the sink').to.deep.equal([]);
    const runs = new Set(lines.map((line) => line.run));
    expect([...runs].sort()).to.deep.equal([1, 2, 3]);
    // A worker never processes a record twice itself: partitions it keeps across a rebalance go on
    // where they were (kafkajs would fetch them again from the committed offset).
    const byRun = new Map<string, number>();
    for (const line of lines)
      byRun.set(`${line.run} ${line.id}`, (byRun.get(`${line.run} ${line.id}`) ?? 0) + 1);
    const twiceBySameWorker = [...byRun].filter(([, count]) => count > 1).map(([runAndId]) => runAndId);
    expect(twiceBySameWorker, 'ids one worker processed twice').to.deep.equal([]);

    for (const worker of workers.slice(1)) worker.child.kill('SIGTERM');
    for (const worker of workers.slice(1)) expect((await worker.exited).code, worker.stderr()).to.equal(0);
    console.log(`      ${lines.length} sink lines for ${total} ids (${lines.length - total} duplicates)`);
  });
});
