import { expect } from 'chai';
import {
  MemoryBroker,
  type ProducerRecord,
  createApp,
  joinStreams,
  json,
  silentLogger,
  toTopic,
  windowJoin,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { ChaosTransport } from '../support/chaos-transport.js';

interface Rec {
  readonly id: string;
  readonly key: string;
  readonly left: boolean;
  readonly t: number;
}

const JOIN_TOPIC = 'shop-paid-join';

/** One worker of a left join (`within` 10, no grace) reading records straight from the join topic. */
async function worker(broker: MemoryBroker) {
  // Changelog writes wait a moment: an expiry's write is still in flight when the next ones land.
  const transport = new ChaosTransport(broker, { batchSize: 100, delayMs: 1, refusals: 0 });
  const app = createApp({ id: 'shop', transport, logger: silentLogger, shutdownTimeoutMs: 2000 });
  const left = app.topic<Rec>('orders', { value: json(), partitions: 1 });
  const right = app.topic<Rec>('payments', { value: json(), partitions: 1 });
  const paid = joinStreams(app, 'paid', left, right, {
    within: 10,
    graceMs: 0,
    type: 'left',
    partitions: 1,
    idleAfterMs: 1e9,
  });
  const joined = app.topic<{ l: string; r: string | null }>('joined', { value: json(), partitions: 1 });
  app.agent('match', paid.topic, (side$) =>
    side$.pipe(
      windowJoin(paid, (l, r) => ({ l: l.id, r: r?.id ?? null })),
      toTopic(joined),
    ),
  );
  await app.start();
  return app;
}

function produce(broker: MemoryBroker, ...recs: Rec[]): void {
  broker.produce(
    recs.map((rec): ProducerRecord => ({
      topic: JOIN_TOPIC,
      key: Buffer.from(rec.key),
      value: Buffer.from(`${rec.left ? 'L' : 'R'}${JSON.stringify(rec)}`),
      timestamp: rec.t,
    })),
  );
}

describe('stream–stream join, expiry of restored records (memory broker)', () => {
  it('expires a restored key’s later record once the durable watermark passed it while the expiry of its earlier one was being written', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    broker.createTopic(JOIN_TOPIC, 1);
    broker.createTopic('joined', 1);
    const results = (): string[] =>
      broker
        .read('joined', 0, 0, 1000)
        .map((r) => JSON.parse(r.value!.toString()) as { l: string; r: string | null })
        .map((j) => `${j.l}|${j.r ?? ''}`)
        .sort();
    // The first owner buffers a (expires at watermark 21) and b (at 36) under k; stream time 5.
    const first = await worker(broker);
    produce(
      broker,
      { id: 'a', key: 'k', left: true, t: 0 },
      { id: 'b', key: 'k', left: true, t: 15 },
      { id: 'w', key: 'w', left: false, t: 5 },
    );
    await waitForCommitted(first, { timeoutMs: 5000 });
    await first.stop();
    // The next owner restores k; only its first expiry (21) is scheduled from the restored state. One
    // fetch then moves the watermark to 25 (a expires: k's change is written) and, in the same
    // changelog produce, to 60 (b's expiry, 36, passed while k's change was in flight).
    produce(
      broker,
      { id: 'y1', key: 'y', left: false, t: 25 },
      { id: 'y2', key: 'y', left: true, t: 25 },
      { id: 'z1', key: 'z', left: true, t: 60 },
      { id: 'z2', key: 'z', left: false, t: 60 },
    );
    const second = await worker(broker);
    try {
      await waitFor(() => results().includes('b|'), {
        timeoutMs: 5000,
        description: 'b, expired unmatched',
      }).catch(() => undefined);
      expect(results()).to.deep.equal(['a|', 'b|', 'y2|y1', 'z1|z2']);
    } finally {
      await second.stop();
    }
  });
});
