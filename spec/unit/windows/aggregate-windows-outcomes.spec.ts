import { expect } from 'chai';
import { recordingOwner, reporter } from '../../support/held-outcomes.js';
import { Subject } from 'rxjs';
import { Lineage } from '../../../lib/core/lineage.js';
import { type Message, recordMessage } from '../../../lib/core/message.js';
import { LateRecordError, aggregateWindows } from '../../../lib/index.js';
import type { AcceptCallback, AcceptOutcome, WindowTable } from '../../../lib/windows/window-table.js';

/** One record given to the window table, and the function that reports its outcome. */
interface Accepted {
  readonly message: Message<unknown, unknown>;
  readonly t: number;
  readonly then: AcceptCallback<string, number>;
}

/** A window table that holds each record's change until the test says what became of it. */
function heldWindowTable(late: 'dead-letter' | 'drop' = 'dead-letter') {
  const accepted: Accepted[] = [];
  let lateCounted = 0;
  const fake = {
    name: 'per-minute',
    late,
    table: {
      agentScope: undefined,
      bind: () => {},
      enter(message: Message<unknown, unknown>, go: (message: Message<unknown, unknown>) => void) {
        go(message);
        return undefined;
      },
    },
    bind: () => {},
    unbind: () => {},
    countLate: () => lateCounted++,
    accept(
      message: Message<unknown, unknown>,
      _key: string,
      t: number,
      then: AcceptCallback<string, number>,
    ) {
      accepted.push({ message, t, then });
    },
  };
  const outcome = reporter<AcceptOutcome<string, number>>(accepted);
  return {
    table: fake as unknown as WindowTable<string, number, number>,
    accepted,
    outcome,
    lateCounted: () => lateCounted,
  };
}

/** Messages with a lineage each (event time = offset × 1000), and what became of their records. */
function records() {
  const { owner, settled, failed } = recordingOwner();
  const message = (offset: number): Message<number, string> =>
    recordMessage(
      'orders',
      0,
      { offset, headers: {}, timestamp: offset * 1000 + 0.7 },
      'ada',
      offset,
      new Lineage(owner, offset),
    );
  return { message, settled, failed };
}

function run(table: WindowTable<string, number, number>, updates = false) {
  const source = new Subject<Message<number, string>>();
  const out: Message<unknown, unknown>[] = [];
  const state = { completed: false, error: undefined as unknown };
  source.pipe(aggregateWindows(table, { updates })).subscribe({
    next: (m) => out.push(m),
    error: (error: unknown) => (state.error = error),
    complete: () => (state.completed = true),
  });
  return { source, out, state };
}

describe('aggregateWindows: what becomes of a record once its change is made (a table holding its changes)', () => {
  it('settles a record once its change is done, nothing before, and emits nothing for it', () => {
    const { table, accepted, outcome } = heldWindowTable();
    const { message, settled } = records();
    const { source, out } = run(table);
    source.next(message(3));
    expect(
      accepted.map((a) => a.t),
      'event time in whole ms',
    ).to.deep.equal([3000]);
    expect(settled).to.deep.equal([]);
    outcome(0, { kind: 'done', key: 'ada', value: { w: [[0, 60_000, 1]] }, replayed: false });
    expect(settled).to.deep.equal([3]);
    expect(out).to.deep.equal([]);
  });

  it('neither settles nor fails a record whose partition moved away (dropped: the new owner reads it again)', () => {
    const { table, outcome } = heldWindowTable();
    const { message, settled, failed } = records();
    const { source, state } = run(table);
    source.next(message(0));
    source.complete();
    outcome(0, { kind: 'dropped' });
    expect([settled, failed]).to.deep.equal([[], []]);
    expect(state.completed, 'nothing held any more').to.equal(true);
  });

  it('fails a failed change, and a late record with a LateRecordError naming its own event time', () => {
    const { table, outcome, lateCounted } = heldWindowTable();
    const { message, settled, failed } = records();
    const { source } = run(table);
    source.next(message(1));
    source.next(message(2));
    const boom = new Error('update threw');
    outcome(0, { kind: 'failed', error: boom });
    outcome(1, { kind: 'late', time: 2000, watermark: 70_000, windowEnd: 60_000 });
    expect(settled).to.deep.equal([]);
    expect(failed.map((f) => f.offset)).to.deep.equal([1, 2]);
    expect(failed[0]!.error).to.equal(boom);
    const late = failed[1]!.error as LateRecordError;
    expect(late).to.be.instanceOf(LateRecordError);
    expect([late.eventTime, late.watermark, late.windowEnd]).to.deep.equal([2000, 70_000, 60_000]);
    expect(lateCounted()).to.equal(1);
  });

  it("with late: 'drop', settles a late record and counts it", () => {
    const { table, outcome, lateCounted } = heldWindowTable('drop');
    const { message, settled, failed } = records();
    const { source } = run(table);
    source.next(message(1));
    outcome(0, { kind: 'late', time: 1000, watermark: 70_000, windowEnd: 60_000 });
    expect([settled, failed, lateCounted()]).to.deep.equal([[1], [], 1]);
  });

  it('with updates, a done change emits the running value of the window holding the record’s event time', () => {
    const { table, outcome } = heldWindowTable();
    const { message, settled } = records();
    const { source, out } = run(table, true);
    source.next(message(61));
    const state = {
      w: [
        [0, 60_000, 4],
        [60_000, 120_000, 1],
      ] as const,
    };
    outcome(0, { kind: 'done', key: 'ada', value: state, replayed: false });
    expect(out.map((m) => m.value)).to.deep.equal([
      { key: 'ada', start: 60_000, end: 120_000, value: 1, final: false },
    ]);
    expect(settled, 'the update carries the record on').to.deep.equal([]);
  });
});
