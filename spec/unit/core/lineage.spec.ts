import { expect } from 'chai';
import {
  attemptsLeft,
  claimMessage,
  combineMessages,
  failMessage,
  forkMessage,
  isAccepted,
  moveMessage,
  releaseMessage,
  settleAtEnd,
  settleClaimed,
  settleMessage,
} from '../../../lib/core/ack.js';
import { MessageReusedError, NotAMessageError } from '../../../lib/core/errors.js';
import { Lineage, type LineageOwner, eachLineage, joinLineages } from '../../../lib/core/lineage.js';
import { type Message, USE, createMessage, deriveMessage } from '../../../lib/core/message.js';

/** An owner that records what happened to its lineages. */
function owner(options: { accepting?: boolean; attemptsLeft?: number } = {}) {
  const settled: unknown[] = [];
  const failed: { token: unknown; error: unknown }[] = [];
  const reused: { token: unknown; error: unknown }[] = [];
  const own: LineageOwner = {
    accepting: options.accepting ?? true,
    onSettled: (lineage) => settled.push(lineage.token),
    onFailed: (lineage, error) => failed.push({ token: lineage.token, error }),
    onReused: (lineage, error) => reused.push({ token: lineage.token, error }),
    ...(options.attemptsLeft !== undefined ? { attemptsLeft: () => options.attemptsLeft } : {}),
  };
  return { own, settled, failed, reused };
}

const messageOf = (
  lineage: Lineage | readonly Lineage[] | undefined,
  value = 0,
): Message<number, string | null> => deriveMessage(createMessage({ topic: 't', value }), value, lineage);

describe('Lineage', () => {
  it('settles once, when the last reference is released; later releases, settles and failures do nothing', () => {
    const { own, settled, failed } = owner();
    const lineage = new Lineage(own, 'r1');
    lineage.retain();
    lineage.release();
    expect(settled).to.deep.equal([]);
    lineage.release();
    expect(settled).to.deep.equal(['r1']);
    expect(lineage.done).to.equal(true);
    lineage.release();
    lineage.settleAll();
    lineage.fail(new Error('late'));
    expect(settled).to.deep.equal(['r1']);
    expect(failed).to.deep.equal([]);
  });

  it('a reference retained after the end does not count', () => {
    const { own } = owner();
    const lineage = new Lineage(own, 'r');
    lineage.release();
    lineage.retain();
    expect(lineage.refs).to.equal(0);
  });

  it('settleAll settles whatever references remain, once', () => {
    const { own, settled, failed } = owner();
    const lineage = new Lineage(own, 'r');
    lineage.retain();
    lineage.settleAll();
    lineage.settleAll();
    lineage.release();
    lineage.fail(new Error('late'));
    expect(settled).to.deep.equal(['r']);
    expect(failed).to.deep.equal([]);
  });

  it('fails once; a failed lineage is never settled', () => {
    const { own, settled, failed } = owner();
    const lineage = new Lineage(own, 'r');
    const error = new Error('boom');
    lineage.fail(error);
    lineage.fail(new Error('again'));
    lineage.release();
    lineage.settleAll();
    expect(failed).to.deep.equal([{ token: 'r', error }]);
    expect(settled).to.deep.equal([]);
  });

  it('joins references: skips missing ones, flattens arrays, one lineage stays one, none is undefined', () => {
    const { own } = owner();
    const [a, b, c] = [new Lineage(own, 'a'), new Lineage(own, 'b'), new Lineage(own, 'c')];
    expect(joinLineages([])).to.equal(undefined);
    expect(joinLineages([undefined, undefined])).to.equal(undefined);
    expect(joinLineages([undefined, a])).to.equal(a);
    expect(joinLineages([[a]])).to.equal(a);
    expect(joinLineages([a, undefined, [b, c]])).to.deep.equal([a, b, c]);
    const seen: unknown[] = [];
    eachLineage([a, b], (l) => seen.push(l.token));
    eachLineage(c, (l) => seen.push(l.token));
    eachLineage(undefined, (l) => seen.push(l.token));
    expect(seen).to.deep.equal(['a', 'b', 'c']);
  });
});

describe('message use (ack helpers)', () => {
  it('settling the same message twice is a MessageReusedError naming the record: the open record fails', () => {
    const { own, settled, failed, reused } = owner();
    const lineage = new Lineage(own, 'r');
    lineage.retain(); // a fork elsewhere keeps the record open
    const message = deriveMessage(
      createMessage({ topic: 'orders', partition: 2, offset: 7, value: 0 }),
      0,
      lineage,
    );
    settleMessage(message);
    expect(failed).to.deep.equal([]);
    settleMessage(message);
    expect(settled).to.deep.equal([]);
    expect(reused).to.deep.equal([]);
    expect(failed).to.have.length(1);
    const error = failed[0]!.error as MessageReusedError;
    expect(error).to.be.instanceOf(MessageReusedError);
    expect(error.where).to.equal('settleMessage');
    expect(error.record).to.deep.equal({ topic: 'orders', partition: 2, offset: 7 });
    expect(error.message).to.contain('orders[2]@7').and.to.contain('shareMessages()');
  });

  it('a reuse after the record is done goes to its owner every time (too late to fail the record)', () => {
    const { own, settled, failed, reused } = owner();
    const message = messageOf(new Lineage(own, 'r'));
    settleMessage(message);
    expect(settled).to.deep.equal(['r']);
    settleMessage(message);
    settleMessage(message);
    expect(failed).to.deep.equal([]);
    expect(reused.map((r) => r.token)).to.deep.equal(['r', 'r']);
    expect(reused[0]!.error).to.be.instanceOf(MessageReusedError);
  });

  it('settling an aggregate releases every record; a hand-made message is just marked spent', () => {
    const { own, settled } = owner();
    const message = messageOf([new Lineage(own, 'a'), new Lineage(own, 'b')]);
    settleMessage(message);
    expect(settled).to.deep.equal(['a', 'b']);
    const plain = createMessage({ value: 1 });
    settleMessage(plain);
    expect(plain[USE]).to.equal('spent');
    settleMessage(plain); // it stands for no record: nothing to fail or report
  });

  it('settling a failed message is a reuse: the record stays failed, the owner hears of it', () => {
    const { own, settled, failed, reused } = owner();
    const message = messageOf(new Lineage(own, 'r'));
    failMessage(message, new Error('boom'));
    expect(message[USE]).to.equal('spent');
    settleMessage(message);
    expect(settled).to.deep.equal([]);
    expect(failed).to.have.length(1);
    expect(reused).to.have.length(1);
  });

  it('settleMessage of a message an operator or sink holds is a reuse: the holder goes on, the record fails', () => {
    const { own, settled, failed } = owner();
    const message = messageOf(new Lineage(own, 'r'));
    message[USE] = 'held'; // a sink is writing it
    settleMessage(message);
    expect(settled).to.deep.equal([]);
    expect((failed[0]!.error as MessageReusedError).where).to.equal('settleMessage');
    expect(message[USE]).to.equal('held');
  });

  it('settleClaimed settles what its operator holds; a message settled meanwhile is a reuse, not a second release', () => {
    const { own, settled, failed } = owner();
    const lineage = new Lineage(own, 'r');
    lineage.retain(); // another copy keeps the record open
    const message = messageOf(lineage);
    message[USE] = 'held';
    settleClaimed(message, 'filterValue');
    expect(lineage.refs).to.equal(1);
    settleClaimed(message, 'filterValue');
    expect(lineage.refs).to.equal(1);
    expect(settled).to.deep.equal([]);
    expect((failed[0]!.error as MessageReusedError).where).to.equal('filterValue');
  });

  it('failMessage of a message whose record already settled is a reuse, reported; of an open record, a failure', () => {
    const { own, failed, reused } = owner();
    const message = messageOf(new Lineage(own, 'r'));
    settleMessage(message);
    failMessage(message, new Error('the write failed after all'));
    expect(failed).to.deep.equal([]);
    expect((reused[0]!.error as MessageReusedError).where).to.equal('failMessage');
    const lineage = new Lineage(own, 'open');
    lineage.retain();
    const moved = messageOf(lineage);
    settleMessage(moved);
    const error = new Error('boom');
    failMessage(moved, error); // the record is still open: it fails with the error given
    expect(failed).to.deep.equal([{ token: 'open', error }]);
  });

  it('settleAtEnd settles a live message; a held or spent one is a reuse at the end of the pipeline', () => {
    const { own, settled, failed } = owner();
    const live = messageOf(new Lineage(own, 'live'));
    settleAtEnd(live);
    expect(settled).to.deep.equal(['live']);
    const held = messageOf(new Lineage(own, 'held'));
    held[USE] = 'held'; // a sink still writes it: the same object also reached the end
    settleAtEnd(held);
    expect(settled).to.deep.equal(['live']);
    expect(failed.map((f) => f.token)).to.deep.equal(['held']);
    expect((failed[0]!.error as MessageReusedError).where).to.equal('the end of the pipeline');
    expect(held[USE]).to.equal('held'); // its holder goes on
  });

  it('forkMessage refuses what is not a message, and a spent message, naming itself', () => {
    const { own } = owner();
    expect(() => forkMessage({ value: 1 } as unknown as Message<number>, 2))
      .to.throw(NotAMessageError)
      .with.property('message')
      .that.contains('forkMessage');
    const spent = messageOf(new Lineage(own, 'r'));
    settleMessage(spent);
    expect(() => forkMessage(spent, 2))
      .to.throw(MessageReusedError)
      .with.property('where', 'forkMessage');
  });

  it('forkMessage holds one more reference on the record', () => {
    const { own, settled } = owner();
    const original = messageOf(new Lineage(own, 'r'));
    const fork = forkMessage(original, 'line');
    settleMessage(original);
    expect(settled).to.deep.equal([]);
    settleMessage(fork);
    expect(settled).to.deep.equal(['r']);
  });

  it('combineMessages refuses an empty batch, non-messages and used messages, naming itself; spends its inputs', () => {
    const { own, settled } = owner();
    expect(() => combineMessages([], 0))
      .to.throw(RangeError)
      .with.property('message')
      .that.contains('at least one');
    expect(() => combineMessages([messageOf(undefined), { value: 1 } as unknown as Message<number>], 0))
      .to.throw(NotAMessageError)
      .with.property('message')
      .that.contains('combineMessages');
    const used = messageOf(undefined);
    settleMessage(used);
    expect(() => combineMessages([messageOf(undefined), used], 0))
      .to.throw(MessageReusedError)
      .with.property('message')
      .that.contains('combineMessages');
    const held = messageOf(undefined);
    held[USE] = 'held';
    expect(() => combineMessages([held], 0)).to.throw(MessageReusedError);
    const inputs = [messageOf(new Lineage(own, 'a')), messageOf(new Lineage(own, 'b'))];
    const aggregate = combineMessages(inputs, 2);
    expect(inputs.map((m) => m[USE])).to.deep.equal(['spent', 'spent']);
    expect(aggregate[USE]).to.equal('live');
    settleMessage(aggregate);
    expect(settled).to.deep.equal(['a', 'b']);
  });

  it('claimMessage marks a live message held; releaseMessage hands back only a held one', () => {
    const errors: unknown[] = [];
    const subscriber = { error: (e: unknown) => errors.push(e) };
    const message = messageOf(undefined);
    expect(claimMessage(message, 'here', subscriber)).to.equal(message);
    expect(message[USE]).to.equal('held');
    releaseMessage(message);
    expect(message[USE]).to.equal('live');
    settleMessage(message);
    releaseMessage(message);
    expect(message[USE]).to.equal('spent'); // a spent message stays spent
    expect(claimMessage({ value: 1 } as unknown as Message<number>, 'here', subscriber)).to.equal(undefined);
    expect(errors[0]).to.be.instanceOf(NotAMessageError);
  });

  it('claimMessage of a message held or spent elsewhere is a reuse, never a silent drop', () => {
    const { own, failed, reused } = owner();
    const errors: unknown[] = [];
    const subscriber = { error: (e: unknown) => errors.push(e) };
    const message = messageOf(new Lineage(own, 'r'));
    claimMessage(message, 'sink a', subscriber);
    expect(claimMessage(message, 'sink b', subscriber)).to.equal(undefined);
    expect(message[USE]).to.equal('held'); // sink a still has it
    expect((failed[0]!.error as MessageReusedError).where).to.equal('sink b');
    expect(claimMessage(message, 'mapValue', subscriber)).to.equal(undefined);
    expect(reused.map((r) => (r.error as MessageReusedError).where)).to.deep.equal(['mapValue']);
    // a hand-made message has no record to fail: the subscriber errors instead
    const plain = messageOf(undefined);
    settleMessage(plain);
    expect(claimMessage(plain, 'filterValue', subscriber)).to.equal(undefined);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(MessageReusedError).with.property('where', 'filterValue');
  });

  it('moveMessage spends the original; the new message carries the same record', () => {
    const { own, settled } = owner();
    const original = messageOf(new Lineage(own, 'r'));
    const moved = moveMessage(original, 'new value');
    expect(original[USE]).to.equal('spent');
    settleMessage(moved);
    expect(settled).to.deep.equal(['r']);
  });

  it('isAccepted is false as soon as one of its agents stopped accepting', () => {
    const on = owner().own;
    const off = owner({ accepting: false }).own;
    expect(isAccepted(messageOf(new Lineage(on, 'a')))).to.equal(true);
    expect(isAccepted(messageOf([new Lineage(on, 'a'), new Lineage(off, 'b')]))).to.equal(false);
    expect(isAccepted(messageOf(undefined))).to.equal(true);
  });

  it("attemptsLeft is the least over an aggregate's records, ignoring owners that keep no budget", () => {
    const three = owner({ attemptsLeft: 3 }).own;
    const one = owner({ attemptsLeft: 1 }).own;
    const none = owner().own;
    expect(attemptsLeft(messageOf(undefined))).to.equal(undefined);
    expect(attemptsLeft(messageOf(new Lineage(none, 'x')))).to.equal(undefined);
    expect(attemptsLeft(messageOf([new Lineage(three, 'a'), new Lineage(one, 'b')]))).to.equal(1);
    expect(
      attemptsLeft(messageOf([new Lineage(one, 'b'), new Lineage(none, 'x'), new Lineage(three, 'a')])),
    ).to.equal(1);
  });
});

describe('reuse reports: what is and is not a reuse', () => {
  it('failing a live fork of a record another fork already failed is no reuse: nothing is reported', () => {
    const { own, failed, reused } = owner();
    const original = messageOf(new Lineage(own, 'r'));
    const fork = forkMessage(original, 1);
    failMessage(original, new Error('first branch'));
    failMessage(fork, new Error('second branch')); // live, its record done: no reuse, and no second failure
    expect(failed.map((f) => f.token)).to.deep.equal(['r']);
    expect(reused).to.deep.equal([]);
  });

  it('a hand-made message (no record) used twice names no record position in its MessageReusedError', () => {
    const plain = createMessage({ topic: 'orders', partition: 3, offset: 9, value: 1 });
    const errors: unknown[] = [];
    const subscriber = { error: (error: unknown) => errors.push(error) };
    expect(claimMessage(plain, 'first', subscriber)).to.equal(plain);
    expect(claimMessage(plain, 'second', subscriber)).to.equal(undefined);
    expect(errors).to.have.length(1);
    const error = errors[0] as MessageReusedError;
    expect(error).to.be.instanceOf(MessageReusedError);
    expect(error.record).to.equal(undefined);
    expect(error.message).to.match(/^second received a message that/);
  });
});
