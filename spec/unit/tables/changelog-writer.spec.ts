import { expect } from 'chai';
import { silentLogger } from '../../../lib/index.js';
import { type ChangelogWrite, ChangelogWriter } from '../../../lib/tables/changelog-writer.js';
import type { RecordMetadata } from '../../../lib/transports/transport.js';

/** Lets the writer's due produce start (it starts in a microtask after the writes of the current task). */
const produceStarted = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChangelogWriter', () => {
  it('splits what is queued into produces of at most 512 KiB (Kafka refuses larger requests for good)', async () => {
    const produced: number[] = [];
    let offset = 0;
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const writer = new ChangelogWriter({
      topic: 'app-t-changelog',
      logger: silentLogger,
      async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
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
      wanted: () => true,
    });
    writer.write(0, write(0));
    await produceStarted();
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
      async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
        produced.push(records.map((r) => `${r.key.toString()}=${r.value!.toString()}`));
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
      wanted: () => true,
    });
    writer.write(0, write('a', 1));
    await produceStarted();
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

  /** A writer whose first produce waits for `release`; records what each produce carried and what was acked. */
  function blockedWriter(options: { maxBatchSize?: number } = {}) {
    const produced: string[][] = [];
    const acked: string[][] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    let offset = 0;
    const writer = new ChangelogWriter(
      {
        topic: 'app-t-changelog',
        logger: silentLogger,
        async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
          produced.push(records.map((r) => `${r.key.toString()}=${r.value!.length}`));
          if (produced.length === 1) await first;
          return records.map(() => ({ topic: 'app-t-changelog', partition: 0, offset: offset++ }));
        },
        acked: (_partition, writes) =>
          acked.push(writes.map((w) => `${w.key.toString()}=${w.value!.length}`)),
        abandoned: () => undefined,
      },
      options,
    );
    return { writer, produced, acked, release: () => release() };
  }
  const sized = (key: string, bytes: number, keyId?: string): ChangelogWrite => ({
    key: Buffer.from(key),
    value: Buffer.alloc(bytes),
    extra: { 'rivulet-watermark': '1700000000000' },
    ...(keyId !== undefined ? { keyId } : {}),
    wanted: () => true,
  });

  it('sends the writes of one synchronous run (a fetch handed over) as one produce, not the first alone', async () => {
    const { writer, produced, acked, release } = blockedWriter();
    for (const key of ['a', 'b', 'a', 'c']) writer.write(0, sized(key, 1));
    expect(produced, 'nothing produced within the run').to.deep.equal([]);
    await produceStarted();
    writer.write(0, sized('d', 2)); // made while the produce is in flight: the next one
    release();
    await writer.drained(0);
    expect(produced).to.deep.equal([['b=1', 'a=1', 'c=1'], ['d=2']]);
    expect(acked).to.deep.equal([['a=1', 'b=1', 'a=1', 'c=1'], ['d=2']]);
    expect(writer.pending(0)).to.equal(0);
  });

  it('is not drained while a produce is due, and abandoning the partition then produces nothing', async () => {
    const { writer, produced } = blockedWriter();
    let drained = false;
    writer.write(0, sized('a', 1));
    void writer.drained(0).then(() => (drained = true));
    await Promise.resolve();
    expect(drained, 'a due produce is pending work').to.equal(false);
    const other = blockedWriter();
    other.writer.write(1, sized('b', 1));
    other.writer.abandon(1);
    await produceStarted();
    expect(other.produced, 'abandoned before its produce started').to.deep.equal([]);
    expect(produced).to.deep.equal([['a=1']]);
  });

  it('bounds a produce by the records it carries, not by the writes they stand for', async () => {
    const { writer, produced, acked, release } = blockedWriter({ maxBatchSize: 2 });
    writer.write(0, sized('x', 1));
    await produceStarted();
    // a, b, a, b, a, b: two records whatever the number of writes; c would be a third
    for (let i = 1; i <= 6; i++) writer.write(0, sized(i % 2 ? 'a' : 'b', i));
    writer.write(0, sized('c', 7));
    release();
    await writer.drained(0);
    expect(produced).to.deep.equal([['x=1'], ['a=5', 'b=6'], ['c=7']]);
    expect(acked).to.deep.equal([['x=1'], ['a=1', 'b=2', 'a=3', 'b=4', 'a=5', 'b=6'], ['c=7']]);
  });

  it('bounds a produce by the bytes of the records it carries: a key written again replaces its size', async () => {
    const { writer, produced, release } = blockedWriter();
    writer.write(0, sized('x', 1));
    await produceStarted();
    // twelve writes of 100 KiB to one key: one record of 100 KiB (the writes add up to 1.2 MiB)
    for (let i = 0; i < 12; i++) writer.write(0, sized('a', 100 * 1024 + i));
    // then five distinct keys of 100 KiB: the batch holds a and four of them (5 × 100 KiB within 512 KiB)
    for (const key of ['b', 'c', 'd', 'e', 'f']) writer.write(0, sized(key, 100 * 1024));
    release();
    await writer.drained(0);
    const kib = 100 * 1024;
    expect(produced).to.deep.equal([
      ['x=1'],
      [`a=${kib + 11}`, `b=${kib}`, `c=${kib}`, `d=${kib}`, `e=${kib}`],
      [`f=${kib}`],
    ]);
  });

  it('tells keys apart by keyId when the write has one', async () => {
    const { writer, produced, release } = blockedWriter();
    writer.write(0, sized('x', 1));
    await produceStarted();
    // the same bytes under two ids are two keys; two byte strings under one id are one key
    writer.write(0, sized('a', 1, 'one'));
    writer.write(0, sized('a', 2, 'two'));
    writer.write(0, sized('b', 3, 'two'));
    release();
    await writer.drained(0);
    expect(produced).to.deep.equal([['x=1'], ['a=1', 'b=3']]);
  });
});
