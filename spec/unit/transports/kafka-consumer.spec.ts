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
        HEARTBEAT: 'heartbeat',
        COMMIT_OFFSETS: 'commit',
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

  join(memberId: string, partitions: number[], duration = 0): void {
    this.emit('join', { memberId, isLeader: true, duration, memberAssignment: { orders: partitions } });
  }

  emit(name: string, payload: object): void {
    for (const listener of this.listeners.get(name) ?? []) listener({ payload });
  }
}

/** A logger that keeps what it is given, by level. */
function recordingLogger() {
  const lines: { level: string; message: string; fields: object }[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void =>
      void lines.push({ level, message: message ?? '', fields });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
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

  it('tells its group as it sees it: generation, rebalances, partitions gained and lost; one info line per join, one warning per crash naming the brokers', async () => {
    const fake = new FakeConsumer();
    const { lines, logger } = recordingLogger();
    const consumer = new KafkaConsumer(
      fake.client(),
      { groupId: 'g', topics: ['orders'] },
      { onBatch: () => {}, onRevoked: async () => {} },
      logger,
      1000,
      'kafka://k1:9092',
    );
    await consumer.start();
    expect(consumer.group()).to.include({ state: 'joining', generation: -1, rebalances: 0 });
    fake.join('m1', [0, 1], 120);
    fake.emit('heartbeat', { groupId: 'g', memberId: 'm1', groupGenerationId: 3 });
    expect(consumer.group()).to.include({
      state: 'stable',
      generation: 3,
      memberId: 'm1',
      leader: true,
      rebalances: 1,
      partitions: 2,
      partitionsGained: 2,
      partitionsLost: 0,
    });
    fake.emit('rebalancing', { groupId: 'g', memberId: 'm1' });
    expect(consumer.group().state).to.equal('rebalancing');
    expect(consumer.group().rebalancingSince).to.be.a('number');
    fake.join('m1', [1, 2, 3]);
    fake.emit('commit', { groupId: 'g', memberId: 'm1', groupGenerationId: 4, topics: [] });
    expect(consumer.group()).to.include({
      state: 'stable',
      generation: 4,
      rebalances: 2,
      partitions: 3,
      partitionsGained: 4,
      partitionsLost: 1,
      rebalancingSince: undefined,
    });
    fake.emit('crash', {
      error: new Error('Connection error: connect ECONNREFUSED'),
      groupId: 'g',
      restart: true,
    });
    expect(consumer.group()).to.include({ state: 'joining', partitions: 0, partitionsLost: 4 });
    await consumer.stop();
    expect(consumer.group().state).to.equal('left');

    const noisy = lines.filter((line) => line.level === 'warn' || line.level === 'error');
    expect(noisy.map((line) => line.message)).to.deep.equal([
      'kafka consumer of group g on kafka://k1:9092 crashed (Connection error: connect ECONNREFUSED); rejoining',
    ]);
    const joins = lines.filter((line) => line.level === 'info').map((line) => line.message);
    expect(joins).to.have.length(2);
    expect(joins[0]).to.match(/^kafka consumer joined group g: 2 partitions \(\+2 −0\) after \d+ ms$/);
    expect(joins[1]).to.match(/^kafka consumer joined group g: 3 partitions \(\+2 −1\) after \d+ ms$/);
  });
});
