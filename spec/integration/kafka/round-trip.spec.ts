import { expect } from 'chai';
import { createApp, mapValue, partitionForKey, silentLogger, type App } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: round trip', function () {
  this.timeout(90_000);
  let app: App | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('consumes 10k keyed messages, settles them all and commits to the end offsets', async () => {
    const topicName = uniqueName('round-trip');
    app = createApp({
      id: uniqueName('rt-app'),
      transport: new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger }),
      logger: silentLogger,
    });
    const topic = app.topic<{ id: number; user: string }>(topicName, { partitions: 6 });
    const seen = new Map<number, number>();
    let misplaced = 0;
    const agent = app.agent('count', topic, (message$) =>
      message$.pipe(
        mapValue((value, message) => {
          seen.set(value.id, (seen.get(value.id) ?? 0) + 1);
          expect(message.key).to.equal(value.user);
          if (message.partition !== partitionForKey(Buffer.from(value.user), 6)) misplaced++;
          return value;
        }),
      ),
    );
    await app.start();
    const total = 10_000;
    const records = Array.from({ length: total }, (_, id) => ({
      key: `user-${id % 97}`,
      value: { id, user: `user-${id % 97}` },
    }));
    for (let i = 0; i < total; i += 2000) await topic.sendMany(records.slice(i, i + 2000));
    await waitForCommitted(app, { timeoutMs: 60_000 });

    expect(seen.size).to.equal(total);
    expect(misplaced, 'records not in the partition murmur2 gives their key').to.equal(0);
    expect(agent.stats().settled).to.be.at.least(total);
    const transport = await app.transport();
    const ends = await transport.endOffsets(topicName);
    const committed = await transport.committedOffsets(agent.group, topicName);
    expect(ends.reduce((sum, end) => sum + end.offset, 0)).to.equal(total);
    expect(committed).to.deep.equal(ends);
    expect(ends.filter((end) => end.offset > 0)).to.have.length.greaterThan(1);
  });
});
