import { expect } from 'chai';
import { Observable, type OperatorFunction } from 'rxjs';
import {
  AgentFailedError,
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  mapValue,
  silentLogger,
  type Message,
} from '../../lib/index.js';
import { subscribingScope } from '../../lib/agent/partition-resources.js';
import type { TopicPartition } from '../../lib/transports/transport.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';

/** An operator that keeps per-partition state, as a table does: readied by `assigned`. */
function withResource<T>(
  assigned: (partitions: readonly TopicPartition[]) => Promise<void>,
): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      void subscribingScope()?.use({ name: 'resource', assigned, revoked: () => undefined });
      return source.subscribe(subscriber);
    });
}

function setup() {
  const broker = new MemoryBroker({ defaultPartitions: 2 });
  const app = createApp({ id: 'res', transport: new MemoryTransport(broker), logger: silentLogger });
  const items = app.topic<number>('items', { value: json() });
  return { app, items };
}

describe('per-partition resources of a pipeline (what tables use)', () => {
  it('records of a partition wait until its resource is ready, then flow', async () => {
    const { app, items } = setup();
    let ready!: () => void;
    const seen: number[] = [];
    app.agent('wait', items, (item$) =>
      item$.pipe(
        withResource<Message<number, string | null>>(() => new Promise<void>((resolve) => (ready = resolve))),
        mapValue((n) => seen.push(n)),
      ),
    );
    await items.sendMany([1, 2, 3].map((value) => ({ value })));
    await app.start();
    await waitFor(() => ready !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).to.deep.equal([]);
    ready();
    await waitForCommitted(app);
    expect([...seen].sort()).to.deep.equal([1, 2, 3]);
    await app.stop();
  });

  it('a resource that fails to get ready while the agent runs fails the agent', async () => {
    const { app, items } = setup();
    const agent = app.agent('broken', items, (item$) =>
      item$.pipe(withResource(() => Promise.reject(new Error('changelog unreadable')))),
    );
    await items.send(1);
    const error = await app.run({ handleSignals: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AgentFailedError);
    expect((error as Error).message).to.contain('changelog unreadable');
    expect(agent.state).to.equal('failed');
  });

  it('a restore cut short by a stop (the transport closing) is no failure', async () => {
    const { app, items } = setup();
    let fail!: (error: Error) => void;
    const agent = app.agent('stopping', items, (item$) =>
      item$.pipe(withResource(() => new Promise<void>((_resolve, reject) => (fail = reject)))),
    );
    await items.send(1);
    await app.start();
    await waitFor(() => fail !== undefined);
    const stopping = app.stop();
    fail(new Error('transport closed'));
    await stopping;
    expect(agent.failure).to.equal(undefined);
    expect(agent.state).to.equal('stopped');
    expect(app.failure).to.equal(undefined);
  });
});
