import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
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
    /** What each acknowledgement says the broker holds: the table's store gets exactly that. */
    const ackedRecords: string[][] = [];
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
      acked: (_partition, writes, kept) => {
        acked.push(...writes.map((w) => `${w.key.toString()}=${w.value!.toString()}`));
        ackedRecords.push(kept.map((w) => `${w.key.toString()}=${w.value!.toString()}`));
      },
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
    expect(ackedRecords).to.deep.equal(produced);
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

  it('reads the value of a key’s last write only, when the whole queue fits: a replaced value is never encoded', async () => {
    const read: string[] = [];
    const produced: string[][] = [];
    const writer = new ChangelogWriter(
      {
        topic: 'app-t-changelog',
        logger: silentLogger,
        async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
          produced.push(records.map((r) => `${r.key.toString()}=${r.value!.toString()}`));
          return records.map((_, offset) => ({ topic: 'app-t-changelog', partition: 0, offset }));
        },
        acked: () => undefined,
        abandoned: () => undefined,
      },
      { maxBatchSize: 2 },
    );
    /** A write whose value is encoded when read (a held change left to encode). */
    const write = (key: string, value: string): ChangelogWrite => ({
      key: Buffer.from(key),
      get value() {
        read.push(`${key}=${value}`);
        return Buffer.from(value);
      },
      wanted: () => true,
    });
    for (const [key, value] of [
      ['a', '1'],
      ['b', '1'],
      ['a', '2'],
      ['b', '2'],
      ['a', '3'],
    ] as const)
      writer.write(0, write(key, value));
    await writer.drained(0);
    expect(produced).to.deep.equal([['b=2', 'a=3']]);
    expect(read).to.not.include.members(['a=1', 'b=1', 'a=2']);
    // three keys do not fit two records: cut write by write, a key's write before the cut is produced there
    read.length = 0;
    for (const [key, value] of [
      ['a', '4'],
      ['b', '4'],
      ['c', '4'],
      ['a', '5'],
    ] as const)
      writer.write(0, write(key, value));
    await writer.drained(0);
    expect(produced.slice(1)).to.deep.equal([
      ['a=4', 'b=4'],
      ['c=4', 'a=5'],
    ]);
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

describe('ChangelogWriter: retries, giving up, and what it reports', () => {
  interface Produced {
    readonly partition: number;
    readonly keys: string[];
  }
  /** A host whose produce answers as `answer` says (by attempt number), recording everything it hears. */
  function host(answer: (attempt: number, writes: readonly ChangelogWrite[]) => Promise<RecordMetadata[]>) {
    const produced: Produced[] = [];
    const acked: { partition: number; keys: string[]; end: number }[] = [];
    const abandoned: { partition: number; keys: string[] }[] = [];
    const warnings: { fields: Record<string, unknown>; message: string | undefined }[] = [];
    const keys = (writes: readonly ChangelogWrite[]) => writes.map((w) => w.key.toString());
    const writerHost = {
      topic: 'app-t-changelog',
      logger: {
        ...silentLogger,
        warn: (fields: object, message?: string) =>
          warnings.push({ fields: fields as Record<string, unknown>, message }),
      },
      produce(partition: number, writes: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
        produced.push({ partition, keys: keys(writes) });
        return answer(produced.length, writes);
      },
      acked: (partition: number, writes: readonly ChangelogWrite[], _produced: unknown, end: number) =>
        acked.push({ partition, keys: keys(writes), end }),
      abandoned: (partition: number, writes: readonly ChangelogWrite[]) =>
        abandoned.push({ partition, keys: keys(writes) }),
    };
    return { writerHost, produced, acked, abandoned, warnings };
  }
  let next = 100;
  const metadata = (writes: readonly ChangelogWrite[]): RecordMetadata[] =>
    writes.map(() => ({ topic: 'app-t-changelog', partition: 0, offset: next++ }));
  const change = (
    key: string,
    wanted: () => boolean = () => true,
    value: Buffer | null = Buffer.from('v'),
  ) => ({
    key: Buffer.from(key),
    value,
    wanted,
  });
  const fast = { backoff: { initialDelayMs: 1, maxDelayMs: 1 } };

  it('retries a refused produce until the broker takes it, counting and logging each failure', async () => {
    const refused = new Error('NOT_LEADER_FOR_PARTITION');
    const { writerHost, produced, acked, warnings } = host(async (attempt, writes) => {
      if (attempt <= 2) throw refused;
      return metadata(writes);
    });
    const writer = new ChangelogWriter(writerHost, fast);
    next = 40;
    writer.write(3, change('a'));
    writer.write(3, change('b'));
    await writer.drained(3);
    expect(produced).to.deep.equal([
      { partition: 3, keys: ['a', 'b'] },
      { partition: 3, keys: ['a', 'b'] },
      { partition: 3, keys: ['a', 'b'] },
    ]);
    expect(acked).to.deep.equal([{ partition: 3, keys: ['a', 'b'], end: 42 }]);
    expect(writer.failures).to.equal(2);
    expect(warnings).to.have.length(2);
    expect(warnings[0]!.fields).to.deep.equal({
      changelog: 'app-t-changelog',
      partition: 3,
      records: 2,
      err: refused,
    });
    expect(warnings[0]!.message).to.equal('writing to the changelog failed; retrying');
  });

  it('waits 50–100 ms before the first retry, doubling to at most 5 s, on the scheduler it is given', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { writerHost, produced } = host(async (attempt, writes) => {
      if (attempt <= 8) throw new Error('refused');
      return metadata(writes);
    });
    const writer = new ChangelogWriter(writerHost, { scheduler });
    writer.write(0, change('a'));
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await waitUntil(() => scheduler.actions.length > 0 || produced.length > attempt);
      expect(produced, 'no retry before its delay passed').to.have.length(attempt);
      const before = scheduler.frame;
      scheduler.flush();
      delays.push(scheduler.frame - before);
    }
    await writer.drained(0);
    expect(produced).to.have.length(9);
    expect(delays[0]).to.be.within(50, 100);
    expect(delays[7]).to.be.within(2500, 5000);
  });

  it('gives up, without producing, a batch nobody waits for any more, and every later write of its partition until the partition is abandoned', async () => {
    // The later writes were made on top of the one given up (a windowed table's or a join's own change
    // after its agent stopped): produced, the changelog would name the lost change's offsets applied.
    const { writerHost, produced, acked, abandoned } = host(async (_attempt, writes) => metadata(writes));
    const writer = new ChangelogWriter(writerHost, fast);
    writer.write(
      0,
      change('gone', () => false),
    );
    await writer.drained(0);
    expect(produced).to.deep.equal([]);
    expect(abandoned).to.deep.equal([{ partition: 0, keys: ['gone'] }]);
    writer.write(0, change('after'));
    writer.write(1, change('elsewhere'));
    await Promise.all([writer.drained(0), writer.drained(1)]);
    expect(produced, 'only the other partition').to.deep.equal([{ partition: 1, keys: ['elsewhere'] }]);
    expect(abandoned).to.deep.equal([
      { partition: 0, keys: ['gone'] },
      { partition: 0, keys: ['after'] },
    ]);
    writer.abandon(0); // revoked: a later owner of the partition starts afresh
    writer.write(0, change('kept'));
    await writer.drained(0);
    expect(produced).to.deep.equal([
      { partition: 1, keys: ['elsewhere'] },
      { partition: 0, keys: ['kept'] },
    ]);
    expect(acked.map((a) => a.keys)).to.deep.equal([['elsewhere'], ['kept']]);
  });

  it('gives up what was queued behind a batch given up while it was retried', async () => {
    let wanted = true;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { writerHost, produced, abandoned } = host(async (attempt, writes) => {
      if (attempt > 1) return metadata(writes);
      await gate;
      wanted = false; // the agent stopped meanwhile
      throw new Error('refused');
    });
    const writer = new ChangelogWriter(writerHost, fast);
    writer.write(
      0,
      change('a', () => wanted),
    );
    await Promise.resolve();
    writer.write(0, change('b'));
    release();
    await writer.drained(0);
    expect(
      produced.map((p) => p.keys),
      'the refused attempt only',
    ).to.deep.equal([['a']]);
    expect(abandoned).to.deep.equal([
      { partition: 0, keys: ['a'] },
      { partition: 0, keys: ['b'] },
    ]);
  });

  it('produces a batch while any of its writes is wanted', async () => {
    const { writerHost, produced, abandoned } = host(async (_attempt, writes) => metadata(writes));
    const writer = new ChangelogWriter(writerHost, fast);
    writer.write(
      0,
      change('a', () => false),
    );
    writer.write(0, change('b'));
    await writer.drained(0);
    expect(produced).to.deep.equal([{ partition: 0, keys: ['a', 'b'] }]);
    expect(abandoned).to.deep.equal([]);
  });

  it('stops retrying once nobody waits for the writes, and gives them up', async () => {
    let wanted = true;
    const { writerHost, produced, abandoned } = host(async (attempt) => {
      if (attempt === 2) wanted = false;
      throw new Error('refused');
    });
    const writer = new ChangelogWriter(writerHost, fast);
    writer.write(
      0,
      change('a', () => wanted),
    );
    await writer.drained(0);
    expect(produced).to.have.length(2);
    expect(abandoned).to.deep.equal([{ partition: 0, keys: ['a'] }]);
  });

  it('counts what is queued and in flight; abandoning a partition gives up what is queued; close abandons all', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { writerHost, produced, acked, abandoned } = host(async (_attempt, writes) => {
      await gate;
      return metadata(writes);
    });
    const writer = new ChangelogWriter(writerHost, fast);
    expect(writer.pending(0)).to.equal(0);
    writer.write(0, change('a'));
    await produceStarted();
    writer.write(0, change('b'));
    writer.write(0, change('c'));
    writer.write(1, change('d'));
    writer.write(2, change('e'));
    expect([writer.pending(0), writer.pending(1)]).to.deep.equal([3, 1]);
    writer.abandon(0);
    expect(abandoned).to.deep.equal([{ partition: 0, keys: ['b', 'c'] }]);
    expect(writer.pending(0)).to.equal(0);
    await produceStarted();
    writer.close();
    release();
    await Promise.all([writer.drained(0), writer.drained(1), writer.drained(2)]);
    expect(produced.map((p) => p.partition)).to.deep.equal([0, 1, 2]);
    expect(acked, 'abandoned in flight: never reported acknowledged').to.deep.equal([]);
    expect(abandoned, 'nothing was queued behind the produces of 1 and 2').to.have.length(1);
    expect([writer.pending(1), writer.pending(2)]).to.deep.equal([0, 0]);
  });

  it('acknowledges a produce answered without record metadata, with the changelog end unknown (0)', async () => {
    const { writerHost, acked } = host(async () => []);
    const writer = new ChangelogWriter(writerHost, fast);
    writer.write(0, change('a'));
    await writer.drained(0);
    expect(acked).to.deep.equal([{ partition: 0, keys: ['a'], end: 0 }]);
  });

  it('counts a record’s framing and its extra headers in a produce’s bytes, and a tombstone as its key', async () => {
    const framed = host(async (_attempt, writes) => metadata(writes));
    const writer = new ChangelogWriter(framed.writerHost, { maxBatchSize: 10_000 });
    // 2,100 empty records with 4-byte keys: 260 bytes each with their framing, so 2,016 fit in 512 KiB
    for (let i = 0; i < 2100; i++)
      writer.write(
        0,
        change(String(i).padStart(4, '0'), () => true, Buffer.alloc(0)),
      );
    await writer.drained(0);
    expect(framed.produced.map((p) => p.keys.length)).to.deep.equal([2016, 84]);

    const headers = host(async (_attempt, writes) => metadata(writes));
    const withHeaders = new ChangelogWriter(headers.writerHost);
    // four records of 150 KiB of headers (and no value): three fit in 512 KiB, not four
    for (const key of ['a', 'b', 'c', 'd'])
      withHeaders.write(0, { ...change(key, () => true, null), extra: { h: 'x'.repeat(150 * 1024) } });
    await withHeaders.drained(0);
    expect(headers.produced.map((p) => p.keys)).to.deep.equal([['a', 'b', 'c'], ['d']]);
  });

  it('produces a write larger than the byte bound alone, and a batch of exactly the bound as one', async () => {
    const { writerHost, produced } = host(async (_attempt, writes) => metadata(writes));
    const writer = new ChangelogWriter(writerHost);
    writer.write(
      0,
      change('big', () => true, Buffer.alloc(600 * 1024)),
    );
    writer.write(0, change('next'));
    await writer.drained(0);
    // key + value + 256 bytes of framing each: two such writes make exactly 512 KiB
    const exact = Buffer.alloc((512 * 1024) / 2 - 1 - 256);
    writer.write(
      0,
      change('p', () => true, exact),
    );
    writer.write(
      0,
      change('q', () => true, exact),
    );
    await writer.drained(0);
    // the same behind a third write that does not fit: cut write by write, the bound still fits two
    for (const key of ['r', 's'])
      writer.write(
        0,
        change(key, () => true, exact),
      );
    writer.write(0, change('t'));
    await writer.drained(0);
    expect(produced.map((p) => p.keys)).to.deep.equal([['big'], ['next'], ['p', 'q'], ['r', 's'], ['t']]);
  });

  describe('lingering writes (changes whose messages moved on: the record cache)', () => {
    function lingering(lingerMs: number) {
      const scheduler = new VirtualTimeScheduler();
      const produced: string[][] = [];
      let offset = 0;
      const writer = new ChangelogWriter(
        {
          topic: 'app-t-changelog',
          logger: silentLogger,
          async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
            produced.push(records.map((r) => `${r.key.toString()}=${r.value!.toString()}`));
            return records.map(() => ({ topic: 'app-t-changelog', partition: 0, offset: offset++ }));
          },
          acked: () => undefined,
          abandoned: () => undefined,
        },
        { lingerMs, scheduler },
      );
      const write = (key: string, value: number, lingers = true): ChangelogWrite => ({
        key: Buffer.from(key),
        value: Buffer.from(String(value)),
        wanted: () => true,
        lingers,
      });
      /** Runs the timers due within `ms` of virtual time. */
      const advance = (ms: number): void => {
        scheduler.maxFrames = scheduler.frame + ms;
        scheduler.flush();
        scheduler.frame = scheduler.maxFrames;
        scheduler.maxFrames = Number.POSITIVE_INFINITY;
      };
      return { writer, write, produced, advance };
    }

    it('wait for the linger, across tasks, and a key changed meanwhile is written once', async () => {
      const { writer, write, produced, advance } = lingering(100);
      writer.write(0, write('a', 1));
      await produceStarted();
      writer.write(0, write('b', 1));
      await produceStarted();
      writer.write(0, write('a', 2));
      advance(99);
      await produceStarted();
      expect(produced).to.deep.equal([]);
      advance(1);
      await produceStarted();
      expect(produced).to.deep.equal([['b=1', 'a=2']]);
      await writer.drained(0);
    });

    it('a write that does not linger takes the lingering ones with it at once; with no linger set, none waits', async () => {
      const { writer, write, produced } = lingering(100);
      writer.write(0, write('a', 1));
      writer.write(0, write('b', 1, false));
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'b=1']]);
      const none = lingering(0);
      none.writer.write(0, none.write('a', 1));
      await produceStarted();
      expect(none.produced).to.deep.equal([['a=1']]);
    });

    it('what queued while a produce was in flight lingers again, unless a write that does not linger came', async () => {
      const { writer, write, produced, advance } = lingering(100);
      writer.write(0, write('a', 1));
      advance(100);
      writer.write(0, write('b', 1)); // while the first produce is in flight
      await produceStarted();
      expect(produced).to.deep.equal([['a=1']]);
      await produceStarted();
      expect(produced).to.have.length(1);
      advance(100);
      await produceStarted();
      expect(produced).to.deep.equal([['a=1'], ['b=1']]);
      writer.write(0, write('c', 1));
      advance(100);
      writer.write(0, write('d', 1, false)); // in flight: it goes as soon as the produce returns
      await produceStarted();
      await produceStarted();
      expect(produced).to.deep.equal([['a=1'], ['b=1'], ['c=1'], ['d=1']]);
      await writer.drained(0);
    });

    it('the linger counts from the first lingering write, and a write after its produce waits a whole linger of its own', async () => {
      const { writer, write, produced, advance } = lingering(100);
      writer.write(0, write('a', 1));
      advance(50);
      writer.write(0, write('b', 1)); // joins a's linger: no second timer
      advance(50);
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'b=1']]);
      await writer.drained(0);
      advance(20);
      writer.write(0, write('c', 1)); // at 120: produced at 220, not when a timer of b's would be over
      advance(99);
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'b=1']]);
      advance(1);
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'b=1'], ['c=1']]);
      await writer.drained(0);
    });

    it('a write that does not linger ends the linger: a lingering write after it waits a whole linger', async () => {
      const { writer, write, produced, advance } = lingering(100);
      writer.write(0, write('a', 1));
      writer.write(0, write('a2', 1));
      writer.write(0, write('b', 1, false));
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'a2=1', 'b=1']]);
      await writer.drained(0);
      advance(50);
      writer.write(0, write('c', 1)); // at 50: produced at 150, not when a's linger would have been over
      advance(99);
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'a2=1', 'b=1']]);
      advance(1);
      await produceStarted();
      expect(produced).to.deep.equal([['a=1', 'a2=1', 'b=1'], ['c=1']]);
      await writer.drained(0);
    });

    it('a lingering write made while a produce is in flight waits a whole linger once the produce returns', async () => {
      const scheduler = new VirtualTimeScheduler();
      const produced: string[][] = [];
      let release!: () => void;
      const writer = new ChangelogWriter(
        {
          topic: 'app-t-changelog',
          logger: silentLogger,
          async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
            produced.push(records.map((r) => r.key.toString()));
            if (produced.length === 1) await new Promise<void>((resolve) => (release = resolve));
            return records.map((_r, offset) => ({ topic: 'app-t-changelog', partition: 0, offset }));
          },
          acked: () => undefined,
          abandoned: () => undefined,
        },
        { lingerMs: 100, scheduler },
      );
      const write = (key: string): ChangelogWrite => ({
        key: Buffer.from(key),
        value: null,
        wanted: () => true,
        lingers: true,
      });
      const advance = (ms: number): void => {
        scheduler.maxFrames = scheduler.frame + ms;
        scheduler.flush();
        scheduler.frame = scheduler.maxFrames;
        scheduler.maxFrames = Number.POSITIVE_INFINITY;
      };
      writer.write(0, write('a'));
      advance(100);
      await produceStarted();
      expect(produced).to.deep.equal([['a']]);
      advance(50);
      writer.write(0, write('b')); // at 150, while a's produce is in flight
      advance(50);
      release(); // returns at 200: b goes at 300, not 250
      await produceStarted();
      advance(99);
      await produceStarted();
      expect(produced).to.deep.equal([['a']]);
      advance(1);
      await produceStarted();
      expect(produced).to.deep.equal([['a'], ['b']]);
      await writer.drained(0);
    });

    it('abandoning a partition whose writes linger produces none of them, and its linger ends', async () => {
      const scheduler = new VirtualTimeScheduler();
      const produced: string[] = [];
      const abandoned: string[] = [];
      const writer = new ChangelogWriter(
        {
          topic: 'app-t-changelog',
          logger: silentLogger,
          async produce(_partition: number, records: readonly ChangelogWrite[]): Promise<RecordMetadata[]> {
            produced.push(...records.map((r) => r.key.toString()));
            return records.map((_r, offset) => ({ topic: 'app-t-changelog', partition: 0, offset }));
          },
          acked: () => undefined,
          abandoned: (_partition, writes) => abandoned.push(...writes.map((w) => w.key.toString())),
        },
        { lingerMs: 100, scheduler },
      );
      writer.write(0, { key: Buffer.from('a'), value: null, wanted: () => true, lingers: true });
      writer.abandon(0);
      expect(abandoned).to.deep.equal(['a']);
      expect(scheduler.actions).to.have.length(0);
      scheduler.flush();
      await produceStarted();
      expect(produced).to.deep.equal([]);
    });
  });
});

/** Waits (a macrotask at a time) until `condition` holds. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => setImmediate(resolve));
}
