import { expect } from 'chai';
import { ChangelogProducer } from '../../../lib/tables/changelog-producer.js';
import type { ProducerRecord, RecordMetadata } from '../../../lib/transports/transport.js';

const record = (partition: number, tag: string): ProducerRecord => ({
  topic: 'changelog',
  partition,
  key: Buffer.from(tag),
  value: Buffer.from(tag),
});

/** A transport's produce whose calls wait until the test answers them. */
function fakeSend() {
  const calls: { records: readonly ProducerRecord[]; answer(error?: Error): void }[] = [];
  let offset = 0;
  const send = (records: readonly ProducerRecord[]): Promise<RecordMetadata[]> =>
    new Promise((resolve, reject) =>
      calls.push({
        records,
        answer: (error) =>
          error
            ? reject(error)
            : resolve(records.map((r) => ({ topic: r.topic, partition: r.partition!, offset: offset++ }))),
      }),
    );
  return { calls, send };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChangelogProducer', () => {
  it('sends one produce at a time: the batches asked for meanwhile go out together, each caller gets its own metadata', async () => {
    const { calls, send } = fakeSend();
    const producer = new ChangelogProducer(send);
    const first = producer.produce([record(0, 'a'), record(0, 'b')]);
    const second = producer.produce([record(1, 'c')]);
    await turn();
    expect(calls).to.have.length(1); // asked in the same turn: one produce
    expect(calls[0]!.records.map((r) => r.key!.toString())).to.deep.equal(['a', 'b', 'c']);
    const third = producer.produce([record(2, 'd')]);
    const fourth = producer.produce([record(0, 'e')]);
    await turn();
    expect(calls).to.have.length(1); // the first is still under way
    calls[0]!.answer();
    expect((await first).map((m) => m.offset)).to.deep.equal([0, 1]);
    expect((await second).map((m) => [m.partition, m.offset])).to.deep.equal([[1, 2]]);
    await turn();
    await turn();
    expect(calls).to.have.length(2);
    expect(calls[1]!.records.map((r) => r.key!.toString())).to.deep.equal(['d', 'e']);
    calls[1]!.answer();
    expect((await third).map((m) => m.offset)).to.deep.equal([3]);
    expect((await fourth).map((m) => m.offset)).to.deep.equal([4]);
  });

  it('a failed produce fails every batch it carried, and the next batches still go out', async () => {
    const { calls, send } = fakeSend();
    const producer = new ChangelogProducer(send);
    const first = producer.produce([record(0, 'a')]);
    const second = producer.produce([record(1, 'b')]);
    await turn();
    calls[0]!.answer(new Error('broker down'));
    const outcomes = await Promise.allSettled([first, second]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'rejected']);
    const retried = producer.produce([record(0, 'a')]);
    await turn();
    await turn();
    expect(calls).to.have.length(2);
    calls[1]!.answer();
    expect((await retried).map((m) => m.offset)).to.deep.equal([0]);
  });

  it('a send that throws at once fails its batches the same way', async () => {
    const producer = new ChangelogProducer(() => {
      throw new Error('not connected');
    });
    const outcome = await producer.produce([record(0, 'a')]).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(outcome).to.equal('not connected');
  });
});
