import { expect } from 'chai';
import {
  type App,
  MemoryBroker,
  MemoryTransport,
  createApp,
  mapValue,
  silentLogger,
} from '../../../lib/index.js';
import { appMetrics } from '../../../lib/metrics/app-metrics.js';
import { waitFor } from '../../../lib/testing/index.js';

/** The value of a sample line `name{labels} value` in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${rendered}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('consumer group metrics', () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  it("show a worker's generation, rebalances and partitions gained and lost as a second worker comes and goes", async () => {
    const broker = new MemoryBroker({ defaultPartitions: 4 });
    const worker = () => {
      const app = createApp({ id: 'grouped', transport: new MemoryTransport(broker), logger: silentLogger });
      const agent = app.agent('count', app.topic<number>('numbers'), (n$) => n$.pipe(mapValue((n) => n)));
      apps.push(app);
      return { app, agent };
    };
    const first = worker();
    const metrics = appMetrics(first.app);
    await first.app.start();
    await waitFor(() => first.agent.stats().membership?.partitions === 4, {
      description: 'all four partitions',
    });

    const second = worker();
    await second.app.start();
    await waitFor(() => first.agent.stats().membership?.partitions === 2, {
      description: 'two partitions moved',
    });
    const labels = { agent: 'count', topic: 'numbers' };
    let text = await metrics.metrics();
    const membership = first.agent.stats().membership!;
    expect(sample(text, 'rivulet_consumer_group_rebalances_total', labels)).to.equal(2);
    expect(sample(text, 'rivulet_consumer_group_partitions', labels)).to.equal(2);
    expect(sample(text, 'rivulet_consumer_group_partitions_gained_total', labels)).to.equal(4);
    expect(sample(text, 'rivulet_consumer_group_partitions_lost_total', labels)).to.equal(2);
    expect(sample(text, 'rivulet_consumer_group_rebalancing', labels)).to.equal(0);
    expect(sample(text, 'rivulet_consumer_group_generation', labels))
      .to.equal(membership.generation)
      .and.be.greaterThan(0);
    expect(sample(text, 'rivulet_consumer_group_rebalance_seconds_total', labels)).to.equal(
      membership.rebalanceMs / 1000,
    );

    await second.app.stop();
    await waitFor(() => first.agent.stats().membership?.partitions === 4, {
      description: 'the partitions back',
    });
    text = await metrics.metrics();
    expect(sample(text, 'rivulet_consumer_group_rebalances_total', labels)).to.equal(3);
    expect(sample(text, 'rivulet_consumer_group_partitions_gained_total', labels)).to.equal(6);
    expect(sample(text, 'rivulet_consumer_group_partitions_lost_total', labels)).to.equal(2);
    expect(second.agent.stats().membership).to.include({ state: 'left', partitions: 0, partitionsLost: 2 });
    metrics.close();
  });
});
