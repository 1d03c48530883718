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
  settleMessage,
} from '../../../lib/core/ack.js';
import { MessageReusedError, NotAMessageError } from '../../../lib/core/errors.js';
import { Lineage, type LineageOwner, eachLineage, joinLineages } from '../../../lib/core/lineage.js';
import { type Message, USE, createMessage, deriveMessage } from '../../../lib/core/message.js';

/** An owner that records what happened to its lineages. */
function owner(options: { accepting?: boolean; attemptsLeft?: number } = {}) {
  const settled: unknown[] = [];
  const failed: { token: unknown; error: unknown }[] = [];
  const own: LineageOwner = {
    accepting: options.accepting ?? true,
    onSettled: (lineage) => settled.push(lineage.token),
    onFailed: (lineage, error) => failed.push({ token: lineage.token, error }),
    ...(options.attemptsLeft !== undefined ? { attemptsLeft: () => options.attemptsLeft } : {}),
  };
  return { own, settled, failed };
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
  it('settling the same message twice releases its reference once', () => {
    const { own, settled } = owner();
    const lineage = new Lineage(own, 'r');
    lineage.retain(); // a fork elsewhere
    const message = messageOf(lineage);
    settleMessage(message);
    settleMessage(message);
    expect(settled).to.deep.equal([]);
    expect(lineage.refs).to.equal(1);
  });

  it('settling an aggregate releases every record; a hand-made message is just marked spent', () => {
    const { own, settled } = owner();
    const message = messageOf([new Lineage(own, 'a'), new Lineage(own, 'b')]);
    settleMessage(message);
    expect(settled).to.deep.equal(['a', 'b']);
    const plain = createMessage({ value: 1 });
    settleMessage(plain);
    expect(plain[USE]).to.equal('spent');
  });

  it('a failed message is spent: settling it afterwards does nothing', () => {
    const { own, settled, failed } = owner();
    const message = messageOf(new Lineage(own, 'r'));
    failMessage(message, new Error('boom'));
    expect(message[USE]).to.equal('spent');
    settleMessage(message);
    expect(settled).to.deep.equal([]);
    expect(failed).to.have.length(1);
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

  it('moveMessage spends the original; the new message carries the same record', () => {
    const { own, settled } = owner();
    const original = messageOf(new Lineage(own, 'r'));
    const moved = moveMessage(original, 'new value');
    expect(original[USE]).to.equal('spent');
    settleMessage(original);
    expect(settled).to.deep.equal([]);
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
