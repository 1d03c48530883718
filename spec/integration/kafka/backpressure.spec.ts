import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, mergeMapValue, silentLogger, type App } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: backpressure', function () {
  this.timeout(120_000);
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('a 10 ms/message sink over a 100k backlog: in flight stays within the bound and RSS stays flat', async () => {
    const topicName = uniqueName('backpressure');
    const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
    app = createApp({ id: uniqueName('bp-app'), transport, logger: silentLogger });
    const topic = app.topic<{ id: number; pad: string }>(topicName, { partitions: 4 });
    const backlog = 100_000;
    const pad = 'p'.repeat(150);
    for (let start = 0; start < backlog; start += 10_000) {
      await topic.sendMany(Array.from({ length: 10_000 }, (_, i) => ({ value: { id: start + i, pad } })));
    }
    const maxInFlight = 1000;
    const agent = app.agent(
      'slow',
      topic,
      (message$) => message$.pipe(mergeMapValue(() => sleep(10), { concurrency: 200 })),
      { maxInFlight },
    );
    global.gc?.();
    await app.start();
    const samples: { window: number; inFlight: number; rss: number }[] = [];
    const sampler = setInterval(() => {
      const { window, inFlight } = agent.stats();
      samples.push({ window, inFlight, rss: process.memoryUsage().rss });
    }, 25);
    try {
      // 10 ms per message, 200 at once: about 20k msg/s at best. Stop after 40k settled, well before the
      // backlog is read: the consumer must have been held back all along.
      await waitFor(() => agent.stats().settled >= 20_000, { timeoutMs: 60_000, description: '20k settled' });
      const rssWarm = process.memoryUsage().rss;
      await waitFor(() => agent.stats().settled >= 40_000, { timeoutMs: 60_000, description: '40k settled' });
      const rssEnd = process.memoryUsage().rss;
      const stats = agent.stats();
      expect(stats.received).to.be.lessThan(backlog);
      expect(stats.pauses, 'times the agent paused its partitions').to.be.greaterThan(0);
      const maxWindow = Math.max(...samples.map((sample) => sample.window));
      const maxInFlightSeen = Math.max(...samples.map((sample) => sample.inFlight));
      expect(maxWindow).to.be.at.most(maxInFlight);
      expect(maxInFlightSeen).to.be.at.most(maxInFlight);
      expect(maxWindow, 'the bound was reached (the test exercised it)').to.be.greaterThan(maxInFlight / 2);
      // Flat: between 20k and 40k settled, RSS grows by less than 64 MiB (the records alone are ~4 MiB
      // per 20k; an unbounded consumer would have buffered the rest of the 100k backlog by then).
      const growthMiB = (rssEnd - rssWarm) / 2 ** 20;
      expect(growthMiB).to.be.lessThan(64);
      console.log(
        `      max window ${maxWindow}, max in flight ${maxInFlightSeen} (bound ${maxInFlight}), ` +
          `received ${stats.received}, pauses ${stats.pauses}, RSS growth ${growthMiB.toFixed(1)} MiB`,
      );
    } finally {
      clearInterval(sampler);
    }
  });
});
