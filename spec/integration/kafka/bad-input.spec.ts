import { expect } from 'chai';
import { DEAD_LETTER_HEADERS, createApp, mapValue, silentLogger, type App } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: bad input', function () {
  this.timeout(60_000);
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('non-JSON bytes on a json() topic go to <topic>.dlq with error headers; the agent carries on', async () => {
    const topicName = uniqueName('bad-input');
    const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
    app = createApp({ id: uniqueName('bad-app'), transport, logger: silentLogger });
    const topic = app.topic<{ n: number }>(topicName, { partitions: 1 });
    const values: number[] = [];
    const agent = app.agent('parse', topic, (message$) =>
      message$.pipe(mapValue((value) => values.push(value.n))),
    );
    await app.start();
    const bad = Buffer.from([0xff, 0x00, 0x7b, 0x6e, 0x6f, 0x74]);
    await transport.produce([
      { topic: topicName, value: Buffer.from('{"n":1}') },
      { topic: topicName, key: Buffer.from('k-bad'), value: bad, headers: { origin: 'test' } },
      { topic: topicName, value: Buffer.from('{"n":2}') },
      { topic: topicName, value: Buffer.from('not json at all') },
      { topic: topicName, value: Buffer.from('{"n":3}') },
    ]);
    await waitForCommitted(app, { timeoutMs: 30_000 });
    expect(values).to.deep.equal([1, 2, 3]);
    expect(agent.stats().deadLettered).to.equal(2);

    const dead: {
      key: Buffer | null;
      value: Buffer | null;
      headers: Record<string, string>;
      offset: number;
    }[] = [];
    const reader = await transport.consume(
      { groupId: uniqueName('dlq-reader'), topics: [`${topicName}.dlq`] },
      {
        onBatch: (batch) => {
          for (const record of batch.records) dead.push({ ...record, headers: { ...record.headers } });
        },
      },
    );
    try {
      await waitFor(() => dead.length >= 2, { timeoutMs: 30_000, description: 'two dead letters' });
    } finally {
      await reader.stop();
    }
    // Dead letters are produced independently: order them by source offset.
    const [first, second] = dead.sort(
      (a, b) => Number(a.headers[DEAD_LETTER_HEADERS.offset]) - Number(b.headers[DEAD_LETTER_HEADERS.offset]),
    );
    expect(first!.value).to.deep.equal(bad);
    expect(first!.key?.toString()).to.equal('k-bad');
    expect(first!.headers.origin).to.equal('test');
    expect(first!.headers[DEAD_LETTER_HEADERS.errorName]).to.equal('DecodeError');
    expect(first!.headers[DEAD_LETTER_HEADERS.error]).to.contain(`${topicName}[0]@1`);
    expect(first!.headers[DEAD_LETTER_HEADERS.topic]).to.equal(topicName);
    expect(first!.headers[DEAD_LETTER_HEADERS.partition]).to.equal('0');
    expect(first!.headers[DEAD_LETTER_HEADERS.offset]).to.equal('1');
    expect(first!.headers[DEAD_LETTER_HEADERS.agent]).to.equal('parse');
    expect(second!.value?.toString()).to.equal('not json at all');
    expect(second!.headers[DEAD_LETTER_HEADERS.offset]).to.equal('3');
    await transport.close();
  });
});
