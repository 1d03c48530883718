import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import { readSink, startWorker } from '../support/kafka-worker-process.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: SIGTERM', function () {
  this.timeout(90_000);
  const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
  after(() => transport.close());

  it('lets in-flight messages settle and commits them before the process exits with code 0', async () => {
    const topic = uniqueName('sigterm');
    const group = uniqueName('sigterm-group');
    const sinkFile = join(mkdtempSync(join(tmpdir(), 'rivulet-sigterm-')), 'sink.txt');
    await transport.ensureTopics([{ name: topic, partitions: 4 }]);
    const total = 3000;
    await transport.produce(
      Array.from({ length: total }, (_, id) => ({
        topic,
        key: Buffer.from(`k${id}`),
        value: Buffer.from(JSON.stringify({ id })),
      })),
    );
    // Slow handlers (up to 400 ms each, 32 at once): at any moment about 32 records are in flight.
    const worker = startWorker({ topic, group, sinkFile, run: 1, delayMs: 400, concurrency: 32 });
    await worker.ready;
    await waitFor(() => readSink(sinkFile).length >= 100, {
      timeoutMs: 30_000,
      description: '100 sink lines',
    });
    const termAt = Date.now();
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    expect(code, worker.stderr()).to.equal(0);

    const lines = readSink(sinkFile);
    const settledAfterTerm = lines.filter((line) => line.at > termAt).length;
    expect(settledAfterTerm, 'records in flight at SIGTERM that settled while stopping').to.be.greaterThan(0);
    expect(lines.length).to.be.lessThan(total);

    const committed = await transport.committedOffsets(group, topic);
    expect(committed).to.have.length.greaterThan(0);
    for (const { partition, offset } of committed) {
      const seen = new Set(lines.filter((line) => line.partition === partition).map((line) => line.offset));
      // Everything below the committed offset reached the sink, and so did everything the sink saw.
      for (let o = 0; o < offset; o++)
        expect(seen.has(o), `p${partition}@${o} committed but not in the sink`).to.equal(true);
      expect(Math.max(...seen) + 1).to.equal(offset);
    }
    const committedTotal = committed.reduce((sum, c) => sum + c.offset, 0);
    expect(committedTotal).to.equal(new Set(lines.map((line) => line.id)).size);
  });
});
