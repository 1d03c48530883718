import { expect } from 'chai';
import { waitForCommitted } from '../../lib/testing/index.js';
import { setupSamples } from '../../samples/setup.js';

describe('samples end to end on memory://', () => {
  it('runs the sample apps with their stand-ins: every activity cached, every order confirmed once and checked', async () => {
    const previous = process.env.RIVULET_LOG_LEVEL;
    process.env.RIVULET_LOG_LEVEL = 'silent';
    const samples = await setupSamples({}, { brokerName: `samples-spec-${Date.now()}` });
    try {
      await Promise.all(samples.apps.map((app) => app.start()));
      await samples.generate(1200, 300);
      await Promise.all(samples.apps.map((app) => waitForCommitted(app)));
      await Promise.all(samples.apps.map((app) => app.stop()));
      const results = await samples.results();
      expect(results.find((line) => line.startsWith('feed cache'))).to.match(
        /^feed cache: 1200 entries in 50 sorted sets/,
      );
      expect(results.find((line) => line.startsWith('order confirmations'))).to.match(
        /^order confirmations: 300 distinct e-mails sent in \d+ requests/,
      );
      expect(results.find((line) => line.startsWith('execution quality'))).to.match(
        /^execution quality: 300 orders checked, 15 outliers flagged \(e\.g\. order-7: 500 bps\)/,
      );
      const stats = samples.apps.flatMap((app) => app.agents.map((agent) => agent.stats()));
      expect(stats.map((s) => [s.name, s.settled, s.deadLettered])).to.deep.include.members([
        ['save-activities', 1200, 0],
        ['confirm-orders', 300, 0],
        ['check-executions', 300, 0],
        ['flag-outliers', 300, 0],
      ]);
    } finally {
      await samples.close();
      if (previous === undefined) delete process.env.RIVULET_LOG_LEVEL;
      else process.env.RIVULET_LOG_LEVEL = previous;
    }
  });
});
