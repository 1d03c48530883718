import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { type Observable, groupBy, mergeMap } from 'rxjs';
import { type Message, createApp, json, silentLogger, updateTable } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

const fixture = fileURLToPath(new URL('./table-worker.ts', import.meta.url));

function startWorker(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env, RIVULET_KAFKA_BROKERS: services.kafkaBrokers.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('kafka: a table counting per key survives a SIGKILLed worker exactly', function () {
  this.timeout(90_000);

  for (const shape of ['direct', 'groupBy'] as const)
    it(`counts 2000 keyed records, a worker killed mid-stream and replaced, exact counts after (${shape === 'direct' ? 'updateTable in the pipeline' : 'updateTable inside groupBy → mergeMap'})`, async () => {
      const appId = uniqueName('tables');
      const topicName = `${appId}-records`;
      const kafka = new Kafka({
        brokers: services.kafkaBrokers,
        clientId: appId,
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: topicName, numPartitions: 3 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      const expected = new Map<string, number>();
      const messages = Array.from({ length: 2000 }, (_, id) => {
        const key = `k${id % 37}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        return { key, value: JSON.stringify({ id }) };
      });
      await producer.send({ topic: topicName, messages });
      await producer.disconnect();

      const env = {
        RIVULET_APP: appId,
        RIVULET_TOPIC: topicName,
        RIVULET_DELAY_MS: '2',
        RIVULET_SHAPE: shape,
      };
      const victim = startWorker(env);
      await waitFor(() => /applied [3-9]00/.test(victim.output()), {
        timeoutMs: 40_000,
        description: 'progress',
      });
      victim.child.kill('SIGKILL');
      await new Promise((resolve) => victim.child.once('exit', resolve));

      const transport = new KafkaTransport({
        brokers: services.kafkaBrokers,
        clientId: appId,
        logger: silentLogger,
        sessionTimeout: 6000,
        heartbeatInterval: 1000,
      });
      const app = createApp({ id: appId, transport, logger: silentLogger });
      const topic = app.topic<{ id: number }>(topicName, { value: json() });
      const counts = app.table<number>('counts', { value: json(), default: () => 0 });
      const count = (record$: Observable<Message<{ id: number }, string | null>>) =>
        record$.pipe(updateTable(counts, (n) => n + 1));
      app.agent(
        'count',
        topic,
        (record$) =>
          shape === 'direct'
            ? count(record$)
            : record$.pipe(
                groupBy((m) => m.key),
                mergeMap((group$) => count(group$)),
              ),
        { commitIntervalMs: 20 },
      );
      try {
        await app.start();
        await waitForCommitted(app, { timeoutMs: 60_000 });
        await waitFor(() => counts.stats().state === 'ready');
        const actual = new Map([...expected.keys()].map((key) => [key, counts.get(key)]));
        expect(Object.fromEntries(actual)).to.deep.equal(Object.fromEntries(expected));
        const changelogEnds = await admin.fetchTopicOffsets(`${appId}-counts-changelog`);
        const changelogRecords = changelogEnds.reduce((sum, p) => sum + Number(p.high), 0);
        console.log(`      changelog records: ${changelogRecords} for 2000 source records`);
        // a batch writes the last value of each key (what compaction keeps), so at most one record per change;
        // exactness is the counts above: the replacement restored from this changelog and applied nothing twice
        expect(changelogRecords).to.be.within(37, 2000);
        // the replacement restored before it applied (the late binding held its first messages)
        expect(app.agents[0]!.stats()).to.include({ retried: 0, deadLettered: 0 });
      } finally {
        await app.stop();
        await admin.disconnect();
      }
    });
});
