import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { committedToEnd, waitFor } from '../../../lib/testing/index.js';
import { readSink, startWorker, type WorkerProcess } from '../support/kafka-worker-process.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: crash (SIGKILL)', function () {
  this.timeout(180_000);
  const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
  let worker: WorkerProcess | undefined;
  after(async () => {
    worker?.child.kill('SIGKILL');
    await transport.close();
  });

  it('killed three times mid-stream: every id reaches the sink, duplicates stay within the in-flight bound', async () => {
    const topic = uniqueName('crash');
    const group = uniqueName('crash-group');
    const sinkFile = join(mkdtempSync(join(tmpdir(), 'rivulet-crash-')), 'sink.txt');
    const maxInFlight = 200;
    const kills = 3;
    const total = 20_000;
    await transport.ensureTopics([{ name: topic, partitions: 6 }]);
    for (let start = 0; start < total; start += 5000) {
      await transport.produce(
        Array.from({ length: 5000 }, (_, i) => ({
          topic,
          key: Buffer.from(`k${start + i}`),
          value: Buffer.from(JSON.stringify({ id: start + i })),
        })),
      );
    }
    const settings = {
      topic,
      group,
      sinkFile,
      delayMs: 10,
      concurrency: 32,
      maxInFlight,
      commitIntervalMs: 20,
    };

    for (let run = 1; run <= kills; run++) {
      worker = startWorker({ ...settings, run });
      await worker.ready;
      const target = (total * run) / (kills + 2);
      await waitFor(() => readSink(sinkFile).length >= target, {
        timeoutMs: 60_000,
        description: `${target} sink lines`,
      });
      worker.child.kill('SIGKILL');
      expect((await worker.exited).signal).to.equal('SIGKILL');
    }
    worker = startWorker({ ...settings, run: kills + 1 });
    await worker.ready;
    await waitFor(() => committedToEnd(transport, group, topic), {
      timeoutMs: 90_000,
      intervalMs: 200,
      description: 'the last worker to commit to the end',
    });
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code, worker.stderr()).to.equal(0);

    const lines = readSink(sinkFile);
    const ids = new Set(lines.map((line) => line.id));
    const missing = Array.from({ length: total }, (_, id) => id).filter((id) => !ids.has(id));
    expect(missing, 'ids that never reached the sink').to.deep.equal([]);

    // Duplicates caused by kill k: ids the k-th run wrote that a later run wrote again.
    const perKill: number[] = [];
    for (let run = 1; run <= kills; run++) {
      const mine = new Set(lines.filter((line) => line.run === run).map((line) => line.id));
      const redone = new Set(
        lines.filter((line) => line.run > run && mine.has(line.id)).map((line) => line.id),
      );
      // Redelivered after a kill: at most the window (maxInFlight) plus what settled since the last
      // commit (commits run every 20 ms; at ~3k msg/s that is well under 100 records).
      expect(redone.size, `duplicates after kill ${run}`).to.be.at.most(maxInFlight + 100);
      perKill.push(redone.size);
    }
    console.log(`      duplicates per kill: ${perKill.join(', ')} (bound ${maxInFlight} in flight + 100)`);
    expect(lines.length - ids.size).to.be.greaterThan(0); // the kills did happen mid-stream
  });
});
