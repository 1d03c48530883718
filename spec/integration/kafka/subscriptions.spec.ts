import { expect } from 'chai';
import { firstValueFrom, take, toArray } from 'rxjs';
import { createApp, json, silentLogger, type App } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

// Issue 16, finding 1, on real Kafka: a subscription is its consumer's lifetime.
describe('kafka: a direct subscription is its consumer’s lifetime', function () {
  this.timeout(120_000);
  let app: App | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('firstValueFrom reads one message and leaves the group; the next subscription of the group gets the rest', async () => {
    const topicName = uniqueName('first-value');
    app = createApp({
      id: uniqueName('fv-app'),
      transport: new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger }),
      logger: silentLogger,
    });
    const items = app.topic<{ id: number }>(topicName, { value: json(), partitions: 1 });
    await items.sendMany(Array.from({ length: 5 }, (_, id) => ({ value: { id } })));
    const run = app.run({ handleSignals: false });

    const first = await firstValueFrom(items);
    expect(first.value.id).to.equal(0);
    const group = `${app.id}.${topicName}.subscriber`;
    await waitFor(() => app!.agents.length === 0);
    const transport = await app.transport();
    await waitFor(async () => (await transport.committedOffsets(group, topicName))[0]?.offset === 1, {
      timeoutMs: 30_000,
      description: 'the first subscription to commit the one message it handed over',
    });

    const rest = await firstValueFrom(items.pipe(take(4), toArray()));
    expect(rest.map((m) => m.value.id)).to.deep.equal([1, 2, 3, 4]);
    await waitFor(async () => (await transport.committedOffsets(group, topicName))[0]?.offset === 5, {
      timeoutMs: 30_000,
      description: 'the second subscription to commit the rest',
    });
    expect(app.agents).to.deep.equal([]);
    await app.stop();
    await run; // the app kept running: take() ended a subscription, not the app
    expect(app.failure).to.equal(undefined);
  });
});
