import { expect } from 'chai';
import { Redis } from 'ioredis';
import { waitForCommitted } from '../../../lib/testing/index.js';
import { setupSamples } from '../../../samples/setup.js';
import { services } from '../support/services.js';

describe('samples on real Kafka, Redis and InfluxDB', () => {
  it('caches every activity in Redis, confirms every order over HTTP and checks it against InfluxDB prices', async () => {
    const previous = process.env.RIVULET_LOG_LEVEL;
    process.env.RIVULET_LOG_LEVEL = 'silent';
    const samples = await setupSamples({
      KAFKA_URL: `kafka://${services.kafkaBrokers.join(',')}`,
      REDIS_URL: services.redisUrl,
      INFLUX_URL: services.influxUrl,
      INFLUX_DB: services.influxDb,
    });
    const redis = new Redis(services.redisUrl);
    try {
      await Promise.all(samples.apps.map((app) => app.start()));
      const generated = await samples.generate(600, 200);
      await Promise.all(samples.apps.map((app) => waitForCommitted(app, { timeoutMs: 90_000 })));
      await Promise.all(samples.apps.map((app) => app.stop()));

      // the topics and groups outlive a run: what this run generated must be there, with this run's scores
      const scores = await Promise.all(
        generated.activities.map((a) => redis.zscore(`feed:${a.user}`, a.message).then(Number)),
      );
      expect(scores).to.deep.equal(generated.activities.map((a) => a.timestamp.getTime()));

      const results = await samples.results();
      const emails = Number(/order confirmations: (\d+) distinct e-mails/.exec(results.join('\n'))?.[1]);
      expect(emails).to.be.at.least(200);
      const [, checked, flagged] = /execution quality: (\d+) orders checked, (\d+) outliers/.exec(
        results.join('\n'),
      )!;
      expect(Number(checked)).to.be.at.least(200);
      // one order in 20 executes 5 % off the market; the seeded InfluxDB prices must reveal each of them
      expect(Number(flagged)).to.be.at.least(10);
      for (const app of samples.apps) expect(app.failure).to.equal(undefined);
    } finally {
      redis.disconnect();
      await Promise.all(samples.apps.map((app) => app.stop()));
      await samples.close();
      if (previous === undefined) delete process.env.RIVULET_LOG_LEVEL;
      else process.env.RIVULET_LOG_LEVEL = previous;
    }
  });
});
