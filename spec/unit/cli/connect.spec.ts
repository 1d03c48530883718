import { expect } from 'chai';
import { SharedBrokerRequiredError } from '../../../lib/cli/cli-errors.js';
import { connectBroker, defaultBroker, requireSharedBroker } from '../../../lib/cli/commands/connect.js';
import { sendCommand } from '../../../lib/cli/commands/send.js';
import { tailCommand } from '../../../lib/cli/commands/tail.js';

describe('the CLI refuses memory:// for send and tail', () => {
  const saved = { RIVULET_BROKER: process.env.RIVULET_BROKER, KAFKA_URL: process.env.KAFKA_URL };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('tail says why and how to name a shared broker', () => {
    expect(() => requireSharedBroker('tail', 'memory://'))
      .to.throw(SharedBrokerRequiredError)
      .with.property('message')
      .that.equals(
        'tail needs a shared broker: memory:// lives inside one process, so this one would wait forever on a ' +
          'topic nobody else can write to. Pass --broker kafka://host:9092 or set KAFKA_URL (or RIVULET_BROKER)',
      );
  });

  it('send says the record would vanish, for any memory:// URL', () => {
    for (const url of ['memory://', 'memory://shared', 'MEMORY://x']) {
      expect(() => requireSharedBroker('send', url)).to.throw(
        SharedBrokerRequiredError,
        'send needs a shared broker: a record sent to memory:// vanishes when this command exits',
      );
    }
    expect(() => requireSharedBroker('send', 'kafka://127.0.0.1:9092')).not.to.throw();
  });

  it('the commands refuse it before connecting to anything, with the default broker too', async () => {
    delete process.env.RIVULET_BROKER;
    delete process.env.KAFKA_URL;
    expect(defaultBroker()).to.equal('memory://');
    const errors = await Promise.all([
      sendCommand({ topic: 't', json: '{}' }).catch((error: unknown) => error),
      tailCommand({ topic: 't' }, { write: () => {} }).catch((error: unknown) => error),
      connectBroker('memory://x', { command: 'tail' }).catch((error: unknown) => error),
    ]);
    for (const error of errors) expect(error).to.be.instanceOf(SharedBrokerRequiredError);
  });

  it('the default broker is $RIVULET_BROKER, else $KAFKA_URL', () => {
    process.env.KAFKA_URL = 'kafka://k:1';
    delete process.env.RIVULET_BROKER;
    expect(defaultBroker()).to.equal('kafka://k:1');
    process.env.RIVULET_BROKER = 'kafka://r:2';
    expect(defaultBroker()).to.equal('kafka://r:2');
  });
});
