import { expect } from 'chai';
import type { Consumer } from 'kafkajs';
import { silentLogger, type TopicPartition } from '../../../lib/index.js';
import { KafkaConsumer } from '../../../lib/transports/kafka/kafka-consumer.js';

/** A kafkajs consumer whose group joins the test emits by hand; `disconnect` runs `onDisconnect` first. */
class FakeConsumer {
  readonly listeners = new Map<string, ((event: unknown) => void)[]>();
  onDisconnect: () => void = () => {};

  client(): Consumer {
    const consumer: Partial<Consumer> = {
      events: {
        GROUP_JOIN: 'join',
        REBALANCING: 'rebalancing',
        CRASH: 'crash',
      } as unknown as Consumer['events'],
      on: ((name: string, listener: (event: unknown) => void) => {
        this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
        return () =>
          this.listeners.set(
            name,
            this.listeners.get(name)!.filter((l) => l !== listener),
          );
      }) as Consumer['on'],
      connect: async () => {},
      subscribe: async () => {},
      run: async () => {},
      pause: () => {},
      resume: () => {},
      disconnect: async () => this.onDisconnect(),
    };
    return consumer as Consumer;
  }

  join(memberId: string, partitions: number[]): void {
    const event = { payload: { memberId, memberAssignment: { orders: partitions } } };
    for (const listener of this.listeners.get('join') ?? []) listener(event);
  }
}

describe('KafkaConsumer (kafkajs fake)', () => {
  it('hands partitions joined before stop() to onAssigned, and none that kafkajs assigns while it stops', async () => {
    const fake = new FakeConsumer();
    const assigned: number[][] = [];
    const revoked: number[][] = [];
    const partitions = (tps: readonly TopicPartition[]): number[] => tps.map((tp) => tp.partition);
    const consumer = new KafkaConsumer(
      fake.client(),
      { groupId: 'g', topics: ['orders'] },
      {
        onBatch: () => {},
        onAssigned: (tps) => void assigned.push(partitions(tps)),
        onRevoked: async (tps) => void revoked.push(partitions(tps)),
      },
      silentLogger,
      1000,
    );
    await consumer.start();
    fake.join('m1', [0]);
    // kafkajs rejoins once more while it stops when a rebalance is under way: it is handed partition 1
    fake.onDisconnect = () => fake.join('m1', [1]);
    await consumer.stop();
    await new Promise((resolve) => setImmediate(resolve)); // the assignment handlers run in order, later
    expect(assigned, 'onAssigned').to.deep.equal([[0]]);
    expect(revoked, 'onRevoked').to.deep.equal([[0]]);
  });
});
