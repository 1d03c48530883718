import { expect } from 'chai';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { silentLogger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { services, uniqueName } from '../support/services.js';

describe('kafka: declared topics', function () {
  this.timeout(60_000);

  it('creates a missing topic with its partitions and config, and leaves an existing one as it is', async () => {
    const name = uniqueName('declared');
    const transport = new KafkaTransport({ brokers: services.kafkaBrokers, logger: silentLogger });
    const admin = new Kafka({ brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await transport.ensureTopics([{ name, partitions: 3, config: { 'retention.ms': '3600000' } }]);
      await transport.ensureTopics([{ name, partitions: 5, config: { 'retention.ms': '60000' } }]);
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [name] })).topics;
      expect(metadata!.partitions).to.have.length(3);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] }],
      });
      expect(resources[0]!.configEntries.map((e) => [e.configName, e.configValue])).to.deep.equal([
        ['retention.ms', '3600000'],
      ]);
      expect((await transport.endOffsets(name)).map((e) => e.offset)).to.deep.equal([0, 0, 0]);
    } finally {
      await admin.disconnect();
      await transport.close();
    }
  });
});
