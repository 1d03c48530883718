import { expect } from 'chai';
import { CommitHold, PartitionTracker } from '../../../lib/agent/partition-tracker.js';
import { Lineage, type LineageOwner } from '../../../lib/core/lineage.js';
import { type Message, recordMessage } from '../../../lib/core/message.js';
import type { Codec } from '../../../lib/codecs/codec.js';
import { json } from '../../../lib/codecs/json.js';
import { type ApplyOutcome, DirectWrite, HeldWrite, RecordWrite } from '../../../lib/tables/table-write.js';

function message(accepting: boolean): Message<unknown, unknown> {
  const owner: LineageOwner = { accepting, onSettled: () => undefined, onFailed: () => undefined };
  return recordMessage(
    'orders',
    0,
    { offset: 3, headers: {}, timestamp: 0 },
    'ada',
    1,
    new Lineage(owner, 3),
  );
}

describe('TableWrite: one change and who waits for it', () => {
  it('a record’s change tells its message done (with key and new value) or dropped, once, then its waiters', () => {
    const heard: string[] = [];
    const outcomes: ApplyOutcome<string, number>[] = [];
    const record = message(true);
    const write = (): RecordWrite<string, number> =>
      new RecordWrite(
        Buffer.from('ada'),
        Buffer.from('2'),
        'ada',
        3,
        undefined,
        record,
        'ada',
        2,
        (outcome, m) => {
          expect(m).to.equal(record);
          outcomes.push(outcome);
          heard.push('message');
        },
      );
    const durable = write();
    durable.waiters = [(d) => heard.push(`waiter ${d}`)];
    durable.finish(true);
    durable.finish(false);
    const lost = write();
    lost.finish(false);
    expect(outcomes).to.deep.equal([
      { kind: 'done', key: 'ada', value: 2, replayed: false },
      { kind: 'dropped' },
    ]);
    expect(heard).to.deep.equal(['message', 'waiter true', 'message']);
    expect([durable.done, lost.done]).to.deep.equal([true, true]);
  });

  it('a record’s change is wanted while its agent accepts work', () => {
    const write = (accepting: boolean) =>
      new RecordWrite(Buffer.from('k'), null, 'k', 3, undefined, message(accepting), 'k', 1, () => undefined);
    expect(write(true).wanted()).to.equal(true);
    expect(write(false).wanted()).to.equal(false);
  });

  it('a change no record made is wanted as its table says, and tells its callback once', () => {
    let open = true;
    const heard: boolean[] = [];
    const write = new DirectWrite<number>(
      Buffer.from('k'),
      null,
      'k',
      -1,
      () => open,
      (d) => heard.push(d),
    );
    expect(write.wanted()).to.equal(true);
    open = false;
    expect(write.wanted()).to.equal(false);
    write.finish(false);
    write.finish(true);
    expect(heard).to.deep.equal([false]);
  });
  it('a change whose message moved on lingers, is always wanted, and releases its hold only once durable', () => {
    const released: unknown[] = [];
    const hold = new CommitHold(new PartitionTracker('t', 0), 3);
    const holder = { releaseCommit: (h: unknown) => released.push(h) };
    const write = (): HeldWrite<number> =>
      new HeldWrite(Buffer.from('k'), Buffer.from('1'), 1, json<number>(), 'k', 3, holder, hold);
    const lost = write();
    expect(lost.lingers).to.equal(true);
    expect(lost.wanted()).to.equal(true);
    lost.finish(false); // never durable: the offset stays held, the record is delivered again
    expect(released).to.deep.equal([]);
    const durable = write();
    durable.finish(true);
    durable.finish(true);
    expect(released).to.have.length(1);
    expect(released[0]).to.equal(hold);
    // an agent that keeps no holds
    const unheld = new HeldWrite(Buffer.from('k'), Buffer.from('1'), 1, json<number>(), 'k', 3, {}, hold);
    unheld.finish(true);
    expect(unheld.done).to.equal(true);
  });

  it('a held change left to encode is encoded once, when its value is first read', () => {
    const hold = new CommitHold(new PartitionTracker('t', 0), 3);
    const encoded: number[] = [];
    const counting: Codec<number> = {
      name: 'counting',
      encode: (n) => (encoded.push(n), Buffer.from(String(n))),
      decode: (bytes) => Number(bytes.toString()),
    };
    const later = new HeldWrite(Buffer.from('k'), undefined, 7, counting, 'k', 3, {}, hold);
    expect(encoded).to.deep.equal([]);
    expect(later.value.toString()).to.equal('7');
    expect(later.value.toString()).to.equal('7');
    expect(encoded).to.deep.equal([7]);
    const now = new HeldWrite(Buffer.from('k'), Buffer.from('8'), 8, counting, 'k', 3, {}, hold);
    expect(now.value.toString()).to.equal('8');
    expect(encoded).to.deep.equal([7]); // given its bytes: never encoded again
  });

  /** A change no record made (`Table.put`), lingering or not. */
  const direct = (lingers?: boolean): DirectWrite<number> =>
    new DirectWrite<number>(
      Buffer.from('k'),
      null,
      'k',
      -1,
      () => true,
      () => undefined,
      lingers,
    );

  it('a change someone waits for does not linger', () => {
    const recordWrite = new RecordWrite(
      Buffer.from('k'),
      null,
      'k',
      3,
      undefined,
      message(true),
      'k',
      1,
      () => undefined,
    );
    const directWrite = direct();
    expect([recordWrite.lingers, directWrite.lingers]).to.deep.equal([false, false]);
  });

  it('a change no record made lingers when asked (a closed window’s removal)', () => {
    const write = direct(true);
    expect(write.lingers).to.equal(true);
  });

  it('onDurable hears first, once, whether the change is durable, with the note kept with it', () => {
    const heard: string[] = [];
    const hold = new CommitHold(new PartitionTracker('t', 0), 3);
    const holder = { releaseCommit: () => heard.push('released') };
    const durable = new HeldWrite(
      Buffer.from('k'),
      Buffer.from('1'),
      1,
      json<number>(),
      'k',
      3,
      holder,
      hold,
    );
    durable.note = 42;
    durable.onDurable = (d, note) => heard.push(`durable ${d} ${note}`);
    durable.waiters = [(d) => heard.push(`waiter ${d}`)];
    durable.finish(true);
    durable.finish(true);
    const lost = new DirectWrite<number>(
      Buffer.from('k'),
      null,
      'k',
      -1,
      () => true,
      (d) => heard.push(`then ${d}`),
    );
    lost.onDurable = (d, note) => heard.push(`durable ${d} ${note}`);
    lost.finish(false);
    expect(heard).to.deep.equal([
      'durable true 42',
      'released',
      'waiter true',
      'durable false undefined',
      'then false',
    ]);
  });
});
