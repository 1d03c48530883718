import { expect } from 'chai';
import { recordingOwner, reporter } from '../../support/held-outcomes.js';
import { Subject } from 'rxjs';
import { Lineage } from '../../../lib/core/lineage.js';
import { LINEAGE, type Message, recordMessage } from '../../../lib/core/message.js';
import { NotAMessageError, updateTable } from '../../../lib/index.js';
import type { ApplyCallback, ApplyOutcome, Table } from '../../../lib/tables/table.js';

/** One message given to the table, and the function that reports its outcome. */
interface Applied {
  readonly message: Message<unknown, unknown>;
  readonly key: unknown;
  readonly then: ApplyCallback<string, number>;
}

/** A table that holds each change until the test says what became of it (as a changelog ack would). */
function heldTable(unbound?: Error) {
  const applied: Applied[] = [];
  const fake = {
    name: 'totals',
    enter(
      message: Message<unknown, unknown>,
      go: (message: Message<unknown, unknown>) => void,
    ): Error | undefined {
      if (unbound) return unbound; // as a table bound to no agent, or to another, answers
      go(message);
      return undefined;
    },
    apply(
      message: Message<unknown, unknown>,
      key: unknown,
      _update: unknown,
      then: ApplyCallback<string, number>,
    ) {
      applied.push({ message, key, then });
    },
  };
  const outcome = reporter<ApplyOutcome<string, number>>(applied);
  return { table: fake as unknown as Table<string, number, number>, applied, outcome };
}

/** Messages with a lineage each, and what became of their records. */
function records() {
  const { owner, settled, failed } = recordingOwner();
  const message = (offset: number, key = 'ada'): Message<number, string> =>
    recordMessage(
      'orders',
      0,
      { offset, headers: {}, timestamp: 0 },
      key,
      offset * 10,
      new Lineage(owner, offset),
    );
  return { message, settled, failed };
}

function run(
  table: Table<string, number, number>,
  options: { key?: (m: Message<number, string>) => string } = {},
) {
  const source = new Subject<Message<number, string>>();
  const out: Message<{ key: string; value: number; input: number; replayed: boolean }, string>[] = [];
  const state = { completed: false, error: undefined as unknown };
  const subscription = source.pipe(updateTable(table, (n: number) => n + 1, options)).subscribe({
    next: (m) => out.push(m),
    error: (error: unknown) => (state.error = error),
    complete: () => (state.completed = true),
  });
  return { source, out, state, subscription };
}

describe('updateTable: what moves on, and when (a table holding its changes)', () => {
  it('moves a message on only once its change is done, as key, new value, input and replayed', () => {
    const { table, applied, outcome } = heldTable();
    const { message } = records();
    const { source, out } = run(table);
    source.next(message(0));
    source.next(message(1, 'bob'));
    expect(applied.map((a) => a.key)).to.deep.equal(['ada', 'bob']);
    expect(out, 'nothing durable yet').to.deep.equal([]);
    outcome(1, { kind: 'done', key: 'bob', value: 1, replayed: true });
    expect(out.map((m) => [m.offset, m.value])).to.deep.equal([
      [1, { key: 'bob', value: 1, input: 10, replayed: true }],
    ]);
  });

  it('completes only once the changes still held are done, after the messages they move on', () => {
    const { table, outcome } = heldTable();
    const { message } = records();
    const { source, out, state } = run(table);
    source.next(message(0));
    source.next(message(1));
    source.complete();
    expect(state.completed, 'two changes are still held').to.equal(false);
    outcome(0, { kind: 'done', key: 'ada', value: 1, replayed: false });
    expect(state.completed, 'one change is still held').to.equal(false);
    outcome(1, { kind: 'dropped' });
    expect(state.completed).to.equal(true);
    expect(out.map((m) => m.offset)).to.deep.equal([0]);
  });

  it('completes at once when the source completes with nothing held', () => {
    const { table } = heldTable();
    const { source, state } = run(table);
    source.complete();
    expect(state.completed).to.equal(true);
  });

  it('passes nothing on for a dropped change (the partition moved away), and fails a failed one', () => {
    const { table, outcome } = heldTable();
    const { message, failed, settled } = records();
    const { source, out, state } = run(table);
    source.next(message(0));
    source.next(message(1));
    const boom = new Error('update threw');
    outcome(0, { kind: 'dropped' });
    outcome(1, { kind: 'failed', error: boom });
    expect(out).to.deep.equal([]);
    expect(failed).to.deep.equal([{ offset: 1, error: boom }]);
    expect(settled).to.deep.equal([]);
    expect(state.error).to.equal(undefined);
  });

  it('once unsubscribed, applies nothing more and emits nothing, even when a held change is done later', () => {
    const { table, applied, outcome } = heldTable();
    const { message } = records();
    const { source, out, subscription } = run(table);
    source.next(message(0));
    subscription.unsubscribe();
    source.next(message(1));
    outcome(0, { kind: 'done', key: 'ada', value: 1, replayed: false });
    expect(applied.map((a) => a.message.offset)).to.deep.equal([0]);
    expect(out).to.deep.equal([]);
  });

  it('fails a message whose key function throws, without touching the table', () => {
    const { table, applied, outcome } = heldTable();
    const { message, failed } = records();
    const bad = new Error('no account');
    const { source, state } = run(table, {
      key: (m) => {
        if (m.offset === 1) throw bad;
        return m.key;
      },
    });
    source.next(message(0));
    source.next(message(1));
    source.complete();
    expect(applied.map((a) => a.message.offset)).to.deep.equal([0]);
    expect(failed).to.deep.equal([{ offset: 1, error: bad }]);
    expect(state.completed, 'offset 0 is still held').to.equal(false);
    outcome(0, { kind: 'done', key: 'ada', value: 1, replayed: false });
    expect(state.completed, 'the failed message holds nothing').to.equal(true);
  });

  it('errors with NotAMessageError naming the operator for a value that is not a message, and applies nothing', () => {
    const { table, applied } = heldTable();
    const keyed: unknown[] = [];
    const { source, state } = run(table, {
      key: (m) => {
        keyed.push(m);
        return 'ada';
      },
    });
    source.next({ qty: 1 } as unknown as Message<number, string>);
    expect(keyed, 'no key asked for').to.deep.equal([]);
    expect(applied).to.deep.equal([]);
    expect(state.error).to.be.instanceOf(NotAMessageError);
    expect((state.error as NotAMessageError).where).to.equal('updateTable totals');
  });

  it('marks a held message’s record deferred (a direct subscription settles it by references), until it moves on', () => {
    const { table, outcome } = heldTable();
    const { message } = records();
    const { source } = run(table);
    const held = message(0);
    source.next(held);
    const lineage = held[LINEAGE] as Lineage;
    expect(lineage.deferred, 'held across the write').to.equal(true);
    outcome(0, { kind: 'done', key: 'ada', value: 1, replayed: false });
    expect(lineage.deferred, 'handed on').to.equal(false);
  });

  it('fails the pipeline with the table’s error for a message the table cannot take (no agent, or another’s)', () => {
    const unbound = new Error('table totals is bound to another agent');
    const { table, applied } = heldTable(unbound);
    const { message } = records();
    const { source, out, state } = run(table);
    source.next(message(0));
    expect(state.error).to.equal(unbound);
    expect(applied).to.deep.equal([]);
    expect(out).to.deep.equal([]);
  });

  it('passes an error of its source on', () => {
    const { table } = heldTable();
    const { source, state } = run(table);
    const broken = new Error('source broke');
    source.error(broken);
    expect(state.error).to.equal(broken);
  });
});
