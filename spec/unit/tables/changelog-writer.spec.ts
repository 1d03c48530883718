import { expect } from 'chai';
import { silentLogger } from '../../../lib/index.js';
import { type ChangelogWrite, ChangelogWriter } from '../../../lib/tables/changelog-writer.js';
import type { ProducerRecord, RecordMetadata } from '../../../lib/transports/transport.js';

describe('ChangelogWriter', () => {
  it('splits what is queued into produces of at most 512 KiB (Kafka refuses larger requests for good)', async () => {
    const produced: number[] = [];
    let offset = 0;
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const writer = new ChangelogWriter({
      topic: 'app-t-changelog',
      logger: silentLogger,
      async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
        produced.push(records.length);
        if (produced.length === 1) await first; // the rest queues up behind the first produce
        return records.map(() => ({ topic: 'app-t-changelog', partition: 0, offset: offset++ }));
      },
      acked: () => undefined,
      abandoned: () => undefined,
    });
    const write = (i: number): ChangelogWrite => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(100 * 1024), // 100 KiB each: five fit in 512 KiB, not six
      headers: {},
      wanted: () => true,
    });
    writer.write(0, write(0));
    for (let i = 1; i <= 12; i++) writer.write(0, write(i));
    release();
    await writer.drained(0);
    expect(produced).to.deep.equal([1, 5, 5, 2]);
  });

  it('produces the last write of each key of a batch (the batch’s last write last) and acknowledges every write', async () => {
    const produced: string[][] = [];
    const acked: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    let offset = 0;
    const writer = new ChangelogWriter({
      topic: 'app-t-changelog',
      logger: silentLogger,
      async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
        produced.push(records.map((r) => `${r.key!.toString()}=${r.value!.toString()}`));
        if (produced.length === 1) await first;
        return records.map(() => ({ topic: 'app-t-changelog', partition: 0, offset: offset++ }));
      },
      acked: (_partition, writes) =>
        acked.push(...writes.map((w) => `${w.key.toString()}=${w.value!.toString()}`)),
      abandoned: () => undefined,
    });
    const write = (key: string, value: number): ChangelogWrite => ({
      key: Buffer.from(key),
      value: Buffer.from(String(value)),
      headers: {},
      wanted: () => true,
    });
    writer.write(0, write('a', 1));
    for (const [key, value] of [
      ['a', 2],
      ['b', 1],
      ['a', 3],
      ['c', 1],
      ['b', 2],
    ] as const)
      writer.write(0, write(key, value));
    release();
    await writer.drained(0);
    expect(produced).to.deep.equal([['a=1'], ['a=3', 'c=1', 'b=2']]);
    expect(acked).to.deep.equal(['a=1', 'a=2', 'b=1', 'a=3', 'c=1', 'b=2']);
  });
});
