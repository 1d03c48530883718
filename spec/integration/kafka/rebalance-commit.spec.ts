import { expect } from 'chai';
import { createApp, mapValue, silentLogger, type App } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { committedToEnd, waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: commit at rebalance', function () {
  this.timeout(90_000);
  const apps: App[] = [];

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  it('commits what is settled when a rebalance starts, so the partitions that move are not processed again', async () => {
    const id = uniqueName('rebalance-commit');
    const topicName = uniqueName('rebalance-commit');
    const seen: Record<'first' | 'second', number[]> = { first: [], second: [] };
    const worker = (name: 'first' | 'second') => {
      const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
      const app = createApp({ id, transport, logger: silentLogger });
      const topic = app.topic<{ id: number }>(topicName, { partitions: 4 });
      // the commit timer never fires during the test: only the rebalance can commit
      app.agent('work', topic, (message$) => message$.pipe(mapValue((value) => seen[name].push(value.id))), {
        commitIntervalMs: 600_000,
      });
      apps.push(app);
      return { app, topic, transport };
    };

    const first = worker('first');
    await first.app.start();
    await first.topic.sendMany(Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: { id: i } })));
    await waitFor(() => seen.first.length === 400, { timeoutMs: 30_000, description: 'the first worker' });
    expect(await first.transport.committedOffsets(`${id}.work`, topicName)).to.deep.equal([]);

    const second = worker('second');
    await second.app.start();
    await waitFor(() => committedToEnd(first.transport, `${id}.work`, topicName), {
      timeoutMs: 30_000,
      description: 'the commit made when the rebalance started',
    });
    // one more record, handled by whichever worker owns its partition now: the group has settled down
    await first.topic.sendMany([{ key: 'after', value: { id: 400 } }]);
    await waitFor(() => seen.first.includes(400) || seen.second.includes(400), { timeoutMs: 30_000 });
    // the second worker started its partitions at the committed offsets: nothing was redone
    expect(seen.second.filter((i) => i < 400)).to.deep.equal([]);
    expect(new Set(seen.first).size).to.equal(seen.first.length);
  });
});
