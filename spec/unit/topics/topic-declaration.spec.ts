import { expect } from 'chai';
import { z } from 'zod';
import { ConfigurationError, createApp, json, raw, silentLogger, string } from '../../../lib/index.js';

const Order = z.object({ user: z.string(), quantity: z.number() });
const newApp = () => createApp({ id: 'declarations', broker: 'memory://declarations', logger: silentLogger });

describe('app.topic() declared twice', () => {
  it('returns the same Topic for the same declaration', () => {
    const app = newApp();
    const orders = app.topic('orders', {
      value: json(Order),
      partitions: 6,
      config: { 'retention.ms': '1000' },
    });
    expect(
      app.topic('orders', { value: json(Order), partitions: 6, config: { 'retention.ms': '1000' } }),
    ).to.equal(orders);
    const plain = app.topic('plain');
    expect(app.topic('plain', { value: json(), key: string() })).to.equal(plain);
    const bytes = app.topic('bytes', { value: raw() });
    expect(app.topic('bytes', { value: raw() })).to.equal(bytes);
  });

  it('throws a ConfigurationError naming both declarations when the codecs differ', () => {
    const app = newApp();
    app.topic('orders', { value: json(Order) });
    let error: unknown;
    try {
      app.topic('orders', { value: raw() });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).to.be.instanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).to.match(
      /^Topic orders is declared twice, differently: \{ value: json\(zod schema\), key: string\(\) \} at spec\/unit\/topics\/topic-declaration\.spec\.ts:\d+:\d+ and \{ value: raw\(\), key: string\(\) \} at spec\/unit\/topics\/topic-declaration\.spec\.ts:\d+:\d+\. Declare it once and share that Topic, or declare it the same way both times$/,
    );
    const [first, second] = [...message.matchAll(/spec\.ts:(\d+)/g)].map((match) => Number(match[1]));
    expect(second).to.equal(first! + 3); // the two app.topic() lines above
  });

  it('throws when the settings differ: partitions, replication factor, config, key codec, schema', () => {
    const app = newApp();
    app.topic('t', {
      value: json(Order),
      partitions: 6,
      replicationFactor: 3,
      config: { 'retention.ms': '1' },
    });
    const variants = [
      { value: json(Order), partitions: 3, replicationFactor: 3, config: { 'retention.ms': '1' } },
      { value: json(Order), partitions: 6, replicationFactor: 1, config: { 'retention.ms': '1' } },
      { value: json(Order), partitions: 6, replicationFactor: 3, config: { 'retention.ms': '2' } },
      { value: json(Order), partitions: 6, replicationFactor: 3 },
      {
        value: json(Order),
        key: raw(),
        partitions: 6,
        replicationFactor: 3,
        config: { 'retention.ms': '1' },
      },
      { value: json(z.object({})), partitions: 6, replicationFactor: 3, config: { 'retention.ms': '1' } },
    ];
    for (const options of variants) {
      expect(() => app.topic('t', options as never), JSON.stringify(options)).to.throw(
        ConfigurationError,
        'Topic t is declared twice, differently',
      );
    }
    expect(() => app.topic('t', { value: json(Order), partitions: 3 })).to.throw(
      /partitions: 6.*partitions: 3/,
    );
  });
});
