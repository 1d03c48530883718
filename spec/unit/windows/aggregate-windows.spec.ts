import { expect } from 'chai';
import fc from 'fast-check';
import { EMPTY, type Observable, type OperatorFunction, delay, filter, map, mergeMap, of, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  InvalidEventTimeError,
  LateRecordError,
  aggregateWindows,
  collect,
  count,
  createApp,
  failMessage,
  hopping,
  silentLogger,
  sliding,
  tumbling,
  type AggregateWindowsOptions,
  type Message,
  type WindowResult,
  type WindowTable,
  type WindowTableOptions,
} from '../../../lib/index.js';
import { type PipelineRun, type TestFailure, testMessage, testPipeline } from '../../../lib/testing/index.js';
import { earliestEnd, windowsOf } from '../../../lib/windows/window-spec.js';
import { dueFrames, marbles } from '../../support/marbles.js';

type In = Message<string, string>;
type Out<A> = Message<WindowResult<string, A>, string>;

/** So large that no window closes by the wall clock within a test. */
const NEVER_IDLE = 1e9;

/** A record `value` at event time `t` (its timestamp) for `key`, at `offset` of partition 0. */
const at = (t: number, offset: number, value = `v${offset}`, key = 'k'): In =>
  testMessage<string, string>(value, { key, offset, partition: 0, timestamp: t });

/** A result as `key start-end:value`, with `*` for a running update. */
const show = (r: WindowResult<string, unknown>): string =>
  `${r.key} ${r.start}-${r.end}:${Array.isArray(r.value) ? r.value.join('') : JSON.stringify(r.value)}${r.final ? '' : '*'}`;

const failure = (f: TestFailure): string => `${f.offset}:${(f.error as Error).name}`;

function windows<A>(options: WindowTableOptions<string, A>): WindowTable<string, string, A> {
  const app = createApp({ id: 'unit', logger: silentLogger });
  return app.windowTable<string, A>('w', options);
}

/** Runs `aggregateWindows(table)` (then `after`, if given) over `input` under `testPipeline`. */
function run<A>(
  table: WindowTable<string, string, A>,
  input: Observable<In>,
  options: AggregateWindowsOptions<string, string, string> & {
    after?: OperatorFunction<Out<A>, Out<A>>;
  } = {},
): PipelineRun<Out<A>> {
  const { after, ...rest } = options;
  return testPipeline(
    (m$: Observable<In>) => m$.pipe(aggregateWindows(table, rest), after ?? ((o$: Observable<Out<A>>) => o$)),
    input,
  );
}

const shown = <A>(output: Observable<Out<A>>) => output.pipe(map((m) => show(m.value)));

describe('aggregateWindows (marbles, testPipeline)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbles()));

  describe('tumbling', () => {
    it('closes a window when the watermark (max event time − grace) reaches its end, driven by records', () => {
      const table = windows({
        window: tumbling(10),
        aggregate: collect<string>(),
        graceMs: 5,
        idleAfterMs: NEVER_IDLE,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('abcdef|', {
          a: at(1, 0, 'a'),
          b: at(9, 1, 'b'),
          c: at(14, 2, 'c'), // watermark 9: [0, 10) stays open
          d: at(15, 3, 'd'), // watermark 10: [0, 10) closes
          e: at(24, 4, 'e'),
          f: at(25, 5, 'f'), // watermark 20: [10, 20) closes
        });
        const r = run(table, input, { scheduler });
        expectObservable(shown(r.output)).toBe('---x-y|', { x: 'k 0-10:ab', y: 'k 10-20:cd' });
        expectObservable(r.settled).toBe('abcdef|', { a: 0, b: 1, c: 2, d: 3, e: 4, f: 5 });
        expectObservable(r.committed).toBe('abcdef|', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
        expectObservable(r.failed).toBe('------|');
      });
      expect(table.get('k')).to.deep.equal([{ start: 20, end: 30, value: ['e', 'f'] }]);
      expect(table.stats()).to.deep.include({ watermarks: { 0: 20 }, emitted: 2, settled: 2, pending: 0 });
    });

    it('a result is a message of its own: key, the partition, offset -1, timestamp = the window end', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      const results: Out<number>[] = [];
      scheduler.run(({ cold }) => {
        run(table, cold('ab|', { a: at(3, 0), b: at(10, 1) }), { scheduler }).output.subscribe((m) =>
          results.push(m),
        );
      });
      expect(results.map((m) => [m.key, m.partition, m.offset, m.timestamp, m.value])).to.deep.equal([
        ['k', 0, -1, 10, { key: 'k', start: 0, end: 10, value: 1, final: true }],
      ]);
    });

    it('unsubscribing the output mid-stream unsubscribes the input and leaves no idle timer scheduled', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), graceMs: 3, idleAfterMs: 5 });
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        // a alone would close [0, 10) by the clock at frame 13; the output is unsubscribed at frame 4
        const input = cold('-a 18ms |', { a: at(1, 0) });
        const r = run(table, input, { scheduler });
        expectObservable(shown(r.output), '^ 3ms !').toBe('');
        expectSubscriptions(input.subscriptions).toBe('^ 3ms !');
        const look = cold('5ms (x|)', { x: 0 }).pipe(map(() => dueFrames(scheduler)));
        expectObservable(look).toBe('5ms (x|)', { x: [] });
      });
      expect(table.stats()).to.deep.include({ emitted: 0, pending: 0 });
      expect(table.get('k')).to.deep.equal([{ start: 0, end: 10, value: 1 }]); // closed by the next subscription
    });

    // Live data: event times follow the (virtual) wall clock, a record at frame t has event time t.
    it('idle close by the scheduler: idleAfterMs after the last record, once the wall clock passed end + grace', () => {
      const table = windows({
        window: tumbling(10),
        aggregate: collect<string>(),
        graceMs: 3,
        idleAfterMs: 5,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('-a 7ms b 5ms ef', {
          a: at(1, 0, 'a'),
          b: at(9, 1, 'b'), // the wall clock passes 10 + 3 at 13, but the partition is idle only from 9 + 5
          e: at(15, 2, 'e'), // after the idle close (watermark 14 − 3 = 11): [10, 20) is open
          f: at(9, 3, 'f'), // [0, 10) was closed by the wall clock: late
        });
        const r = run(table, input, { scheduler });
        // [10, 20) closes at 23: 20 + the grace, idle since 16 (more than 5)
        expectObservable(shown(r.output), '^ 40ms !').toBe('14ms x 8ms y', {
          x: 'k 0-10:ab',
          y: 'k 10-20:e',
        });
        expectObservable(r.failed.pipe(map(failure)), '^ 40ms !').toBe('16ms f', { f: '3:LateRecordError' });
        expectObservable(r.settled, '^ 40ms !').toBe('-a 7ms b 5ms e', { a: 0, b: 1, e: 2 });
      });
      expect(table.stats()).to.deep.include({
        watermarks: { 0: 20 },
        emitted: 2,
        settled: 2,
        lateDeadLettered: 1,
      });
      expect(table.get('k')).to.deep.equal([]);
    });

    it('idle close waits out the grace even when the partition went idle long before', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), graceMs: 30, idleAfterMs: 1 });
      scheduler.run(({ cold, expectObservable }) => {
        expectObservable(
          shown(run(table, cold('-a', { a: at(1, 0) }), { scheduler }).output),
          '^ 50ms !',
        ).toBe('40ms x', { x: 'k 0-10:1' });
      });
    });

    it('late: a record whose window has closed fails with LateRecordError, joins no window; the result is unchanged', () => {
      const table = windows({
        window: tumbling(10),
        aggregate: collect<string>(),
        graceMs: 2,
        idleAfterMs: NEVER_IDLE,
      });
      const errors: unknown[] = [];
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('abcdef|', {
          a: at(9, 0, 'a'),
          b: at(11, 1, 'b'), // watermark 9
          c: at(9, 2, 'c'), // its window ends at 10 > 9: accepted
          d: at(12, 3, 'd'), // watermark 10: [0, 10) closes
          e: at(9, 4, 'e'), // 10 ≤ watermark 10: late
          f: at(10, 5, 'f'), // [10, 20) is open
        });
        const r = run(table, input, { scheduler });
        expectObservable(shown(r.output)).toBe('---x--|', { x: 'k 0-10:ac' });
        expectObservable(
          r.failed.pipe(
            tap((f) => errors.push(f.error)),
            map(failure),
          ),
        ).toBe('----e-|', { e: '4:LateRecordError' });
        expectObservable(r.settled).toBe('abcd-f|', { a: 0, b: 1, c: 2, d: 3, f: 5 });
        expectObservable(r.committed).toBe('abcd--|', { a: 1, b: 2, c: 3, d: 4 });
      });
      const error = errors[0] as LateRecordError;
      expect(error).to.be.instanceOf(LateRecordError);
      expect([error.eventTime, error.watermark, error.windowEnd, error.retriable]).to.deep.equal([
        9,
        10,
        10,
        false,
      ]);
      expect(error.message).to.match(/raise graceMs/);
      expect(table.get('k')).to.deep.equal([{ start: 10, end: 20, value: ['b', 'd', 'f'] }]);
      expect(table.stats()).to.deep.include({ lateDeadLettered: 1, lateDropped: 0, emitted: 1 });
    });

    it("late: 'drop' settles the record (committed past it), counts it in lateDropped, changes nothing", () => {
      const table = windows({
        window: tumbling(10),
        aggregate: count(),
        late: 'drop',
        idleAfterMs: NEVER_IDLE,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('abcd|', { a: at(5, 0), b: at(12, 1), c: at(7, 2), d: at(13, 3) }), {
          scheduler,
        });
        expectObservable(shown(r.output)).toBe('-x--|', { x: 'k 0-10:1' });
        expectObservable(r.settled).toBe('abcd|', { a: 0, b: 1, c: 2, d: 3 });
        expectObservable(r.committed).toBe('abcd|', { a: 1, b: 2, c: 3, d: 4 });
        expectObservable(r.failed).toBe('----|');
      });
      expect(table.get('k')).to.deep.equal([{ start: 10, end: 20, value: 2 }]);
      expect(table.stats()).to.deep.include({ lateDropped: 1, lateDeadLettered: 0 });
    });
  });

  describe('hopping', () => {
    it('puts each event in size / step windows; each window carries all of its events; one final each', () => {
      const table = windows({
        window: hopping(10, 5),
        aggregate: collect<string>(),
        idleAfterMs: NEVER_IDLE,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('abcd 3ms |', {
          a: at(1, 0, 'a'),
          b: at(6, 1, 'b'),
          c: at(12, 2, 'c'),
          d: at(30, 3, 'd'),
        });
        expectObservable(shown(run(table, input, { scheduler }).output)).toBe('-xy(zw)|', {
          x: 'k -5-5:a',
          y: 'k 0-10:ab',
          z: 'k 5-15:bc',
          w: 'k 10-20:c',
        });
      });
      expect(table.get('k')).to.deep.equal([
        { start: 25, end: 35, value: ['d'] },
        { start: 30, end: 40, value: ['d'] },
      ]);
    });

    it('a step that does not divide the size (10, 4): every window with an event, with exactly its events', () => {
      const table = windows({
        window: hopping(10, 4),
        aggregate: collect<string>(),
        idleAfterMs: NEVER_IDLE,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('abc 4ms |', { a: at(0, 0, 'a'), b: at(5, 1, 'b'), c: at(40, 2, 'c') });
        expectObservable(shown(run(table, input, { scheduler }).output)).toBe('-w(xyz)|', {
          w: 'k -8-2:a',
          x: 'k -4-6:ab',
          y: 'k 0-10:ab',
          z: 'k 4-14:b',
        });
      });
    });
    it('idle close by the scheduler: each window at its own end + grace on the wall clock', () => {
      const table = windows({ window: hopping(10, 5), aggregate: count(), graceMs: 2, idleAfterMs: 1 });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('-a', { a: at(1, 0) }), { scheduler });
        expectObservable(shown(r.output), '^ 100ms !').toBe('7ms x 4ms y', { x: 'k -5-5:1', y: 'k 0-10:1' });
      });
      expect(table.get('k')).to.deep.equal([]);
    });
  });

  describe('sliding', () => {
    it('one window per event time, ending with it; an out-of-order event (within grace) joins the later windows', () => {
      const table = windows({
        window: sliding(10),
        aggregate: collect<string>(),
        graceMs: 5,
        idleAfterMs: NEVER_IDLE,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('abcde 3ms |', {
          a: at(10, 0, 'a'),
          b: at(15, 1, 'b'), // watermark 10: [1, 11) is still open (its end 11 > 10)
          c: at(12, 2, 'c'), // its own window [3, 13) ends after 10: accepted, and joins [6, 16)
          d: at(30, 3, 'd'), // watermark 25: the three windows close
          e: at(25, 4, 'e'), // its window [16, 26) ends at 26 > 25: accepted; joins [21, 31)
        });
        const r = run(table, input, { scheduler });
        expectObservable(shown(r.output)).toBe('---(xyz)|', {
          x: 'k 1-11:a',
          y: 'k 3-13:ac',
          z: 'k 6-16:abc',
        });
        expectObservable(r.failed).toBe('-----   3ms |');
      });
      expect(table.get('k')).to.deep.equal([
        { start: 16, end: 26, value: ['e'] },
        { start: 21, end: 31, value: ['d', 'e'] },
      ]);
    });

    it('a record late for its own window fails with LateRecordError even when later windows are open', () => {
      const table = windows({ window: sliding(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('abc|', { a: at(10, 0), b: at(12, 1), c: at(11, 2) }), { scheduler });
        expectObservable(shown(r.output)).toBe('-x-|', { x: 'k 1-11:1' });
        // 11 would be in [3, 13), still open, but its own window [2, 12) closed at watermark 12
        expectObservable(r.failed.pipe(map(failure))).toBe('--c|', { c: '2:LateRecordError' });
      });
      expect(table.get('k')).to.deep.equal([{ start: 3, end: 13, value: 2 }]); // 10 and 12
    });

    it('a key whose windows all closed is deleted once its events expire (idle partition, result settled at once)', () => {
      const table = windows({ window: sliding(10), aggregate: count(), idleAfterMs: 5 });
      const states: unknown[] = [];
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('-a', { a: at(1, 0) }), { scheduler });
        expectObservable(shown(r.output), '^ 100ms !').toBe('------x', { x: 'k -8-2:1' });
        for (const frame of [10, 12]) scheduler.schedule(() => states.push(table.table.get('k')), frame);
      });
      // the event stops mattering at 1 + 10: no new window can hold it (count keeps nothing of its value)
      expect(states).to.deep.equal([{ w: [], ev: [[1, null]] }, undefined]);
    });

    // A final result that settles after the idle probe that emitted it (a slow sink) still lets the
    // key's events expire: scheduling the expiry arms the idle closer again.
    it('a key whose windows all closed is deleted once its events expire, also when its result settled later', () => {
      const table = windows({ window: sliding(10), aggregate: count(), idleAfterMs: 5 });
      const states: unknown[] = [];
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('-a', { a: at(1, 0) }), {
          scheduler,
          after: mergeMap((m) => of(m).pipe(delay(20, scheduler))),
        });
        expectObservable(shown(r.output), '^ 100ms !').toBe('26ms x', { x: 'k -8-2:1' });
        scheduler.schedule(() => states.push(table.table.get('k')), 99);
      });
      expect(states).to.deep.equal([undefined]);
    });
  });

  describe('one final result per window and key', () => {
    it('with many records and keys, in any order within grace: each window once, with exactly its records; late ones fail', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(tumbling(5), hopping(10, 5), hopping(10, 4), sliding(6)),
          fc.integer({ min: 0, max: 6 }),
          fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 40 })), {
            minLength: 1,
            maxLength: 30,
          }),
          (spec, graceMs, events) => {
            const table = windows({
              window: spec,
              aggregate: collect<string>(),
              graceMs,
              idleAfterMs: NEVER_IDLE,
            });
            // the model: what is late (partition-wide watermark), and which windows hold which records
            let maxTime = Number.NEGATIVE_INFINITY;
            const late: number[] = [];
            const accepted: [offset: number, key: string, t: number][] = [];
            events.forEach(([key, t], offset) => {
              if (earliestEnd(spec, t) <= maxTime - graceMs) return void late.push(offset);
              maxTime = Math.max(maxTime, t);
              accepted.push([offset, key, t]);
            });
            const expected = new Set<string>();
            for (const [, key, t] of accepted)
              for (const [start, end] of spec.kind === 'sliding'
                ? [[t - spec.size + 1, t + 1]]
                : windowsOf(spec, t)) {
                const values = accepted
                  .filter(([, k, u]) => k === key && start! <= u && u < end!)
                  .map(([o]) => `${o}.`);
                expected.add(`${key} ${start! + 0}-${end! + 0}:${values.join('')}`);
              }
            const finals: string[] = [];
            const failed: TestFailure[] = [];
            const scheduler = marbles();
            scheduler.run(({ cold }) => {
              const input = cold<In>(
                `${events.map((_, i) => String.fromCharCode(0x100 + i)).join('')}z|`,
                Object.fromEntries([
                  ...events.map(([key, t], i) => [String.fromCharCode(0x100 + i), at(t, i, `${i}.`, key)]),
                  ['z', at(10_000, events.length, 'z', 'z')], // closes every window of a, b and c
                ]),
              );
              const r = run(table, input, { scheduler });
              r.output.subscribe((m) => finals.push(show(m.value)));
              r.failed.subscribe((f) => failed.push(f));
            });
            expect(failed.map((f) => f.offset)).to.deep.equal(late);
            expect(failed.every((f) => f.error instanceof LateRecordError)).to.equal(true);
            expect([...finals].sort()).to.deep.equal([...expected].sort());
            for (const key of ['a', 'b', 'c']) expect(table.get(key)).to.deep.equal([]);
            expect(table.stats()).to.deep.include({
              emitted: expected.size,
              settled: expected.size,
              pending: 0,
            });
          },
        ),
        { numRuns: 150 },
      );
    });
  });

  describe('updates: true', () => {
    it('emits the running value of each window a record changed (final: false), then one final result', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('abc 3ms |', { a: at(1, 0), b: at(4, 1), c: at(12, 2) }), {
          scheduler,
          updates: true,
        });
        expectObservable(shown(r.output)).toBe('xy(zw)|', {
          x: 'k 0-10:1*',
          y: 'k 0-10:2*',
          z: 'k 0-10:2',
          w: 'k 10-20:1*',
        });
        expectObservable(r.settled).toBe('abc 3ms |', { a: 0, b: 1, c: 2 });
      });
      expect(table.stats()).to.deep.include({ emitted: 1, settled: 1 });
    });

    it('hopping: one update per window holding the record; the record settles once, when all of them did', () => {
      const table = windows({ window: hopping(10, 5), aggregate: count(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('a 9ms |', { a: at(6, 0) }), {
          scheduler,
          updates: true,
          after: mergeMap((m) => (m.value.start === 0 ? of(m).pipe(delay(5, scheduler)) : of(m))),
        });
        expectObservable(shown(r.output)).toBe('y 4ms x 4ms |', { x: 'k 0-10:1*', y: 'k 5-15:1*' });
        expectObservable(r.settled).toBe('5ms a 4ms |', { a: 0 });
      });
    });
  });

  describe('a final result that fails', () => {
    let random: () => number;
    beforeEach(() => {
      random = Math.random;
      Math.random = () => 0; // backoff without jitter: half the nominal delay, 100, 200, 400… ms
    });
    afterEach(() => (Math.random = random));

    it('is emitted again after a backoff (past the retry budget too, with no dead-letter topic), its window kept until it settles', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      let failures = 5;
      const snapshots: string[] = [];
      scheduler.run(({ cold, expectObservable }) => {
        const emitted: string[] = [];
        const r = run(table, cold('ab', { a: at(1, 0), b: at(12, 1) }), {
          scheduler,
          after: (o$) =>
            o$.pipe(
              tap(() => emitted.push(`${scheduler.now()}`)),
              mergeMap((m) => {
                if (!m.value.final || failures-- <= 0) return of(m);
                failMessage(m, new Error('sink down'));
                return EMPTY;
              }),
            ),
        });
        for (const frame of [100, 3100, 3102])
          scheduler.schedule(
            () =>
              snapshots.push(
                `${frame}: ${table
                  .get('k')
                  .map((w) => `${w.start}-${w.end}`)
                  .join(' ')}`,
              ),
            frame,
          );
        expectObservable(shown(r.output), '^ 4000ms !').toBe('3101ms x', { x: 'k 0-10:1' });
        expectObservable(r.settled, '^ 4000ms !').toBe('ab', { a: 0, b: 1 });
        scheduler.schedule(
          () => expect(emitted).to.deep.equal(['1', '101', '301', '701', '1501', '3101']),
          3999,
        );
      });
      expect(snapshots).to.deep.equal(['100: 0-10 10-20', '3100: 0-10 10-20', '3102: 10-20']);
      expect(table.stats()).to.deep.include({ emitted: 6, settled: 1, pending: 0, resultsDeadLettered: 0 });
    });

    it('is not emitted twice while it waits downstream, even as new records of its key arrive', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('abcd|', { a: at(1, 0), b: at(12, 1), c: at(13, 2), d: at(14, 3) }), {
          scheduler,
          after: mergeMap((m) => (m.value.final ? of(m).pipe(delay(10, scheduler)) : of(m))),
        });
        expectObservable(shown(r.output)).toBe('----- 6ms (x|)', { x: 'k 0-10:1' });
        // the window stays until its result settled
        scheduler.schedule(() => expect(table.get('k')).to.have.length(2), 10);
        scheduler.schedule(() => expect(table.get('k')).to.have.length(1), 12);
      });
      expect(table.stats()).to.deep.include({ emitted: 1, settled: 1, pending: 0 });
    });

    it('is emitted again to the next subscription when the first ended before it settled', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const first = run(table, cold('ab', { a: at(1, 0), b: at(12, 1) }), {
          scheduler,
          after: filter((m) => !m.value.final), // held: neither settled nor failed
        });
        expectObservable(shown(first.output), '^ 5ms !').toBe('');
        const second = run(table, cold('-c', { c: at(25, 2) }), { scheduler });
        expectObservable(shown(second.output), '10ms ^ 20ms !').toBe('10ms xy', {
          x: 'k 0-10:1',
          y: 'k 10-20:1',
        });
      });
      expect(table.get('k')).to.deep.equal([{ start: 20, end: 30, value: 1 }]);
      expect(table.stats()).to.deep.include({ emitted: 3, settled: 2, pending: 0 });
    });
  });

  describe('input records', () => {
    it('a record delivered again (same offset, after a restart) is counted once, and settles', () => {
      const table = windows({ window: tumbling(10), aggregate: collect<string>(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const first = run(table, cold('ab|', { a: at(1, 0, 'a'), b: at(5, 1, 'b') }), { scheduler });
        expectObservable(first.settled).toBe('ab|', { a: 0, b: 1 });
        const again = run(table, cold('abc|', { a: at(1, 0, 'a'), b: at(5, 1, 'b'), c: at(12, 2, 'c') }), {
          scheduler,
        });
        expectObservable(shown(again.output), '10ms ^').toBe('10ms --x|', { x: 'k 0-10:ab' });
        expectObservable(again.settled, '10ms ^').toBe('10ms abc|', { a: 0, b: 1, c: 2 });
      });
    });

    it('a record delivered again after its window closed settles (it was counted): not late, not counted twice', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      scheduler.run(({ cold, expectObservable }) => {
        const first = run(table, cold('ab|', { a: at(1, 0), b: at(12, 1) }), { scheduler });
        expectObservable(shown(first.output)).toBe('-x|', { x: 'k 0-10:1' });
        const again = run(table, cold('abc|', { a: at(1, 0), b: at(12, 1), c: at(25, 2) }), { scheduler });
        expectObservable(shown(again.output), '10ms ^').toBe('10ms --x|', { x: 'k 10-20:1' });
        expectObservable(again.settled, '10ms ^').toBe('10ms abc|', { a: 0, b: 1, c: 2 });
        expectObservable(again.failed, '10ms ^').toBe('10ms ---|');
      });
      expect(table.stats()).to.deep.include({ lateDeadLettered: 0, emitted: 2 });
    });

    it('an event time that is not a finite number fails the record with InvalidEventTimeError; a throwing key function fails it with its error', () => {
      const table = windows({ window: tumbling(10), aggregate: count(), idleAfterMs: NEVER_IDLE });
      const times: Record<string, unknown> = {
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        str: '12',
        undef: undefined,
      };
      const errors: unknown[] = [];
      scheduler.run(({ cold, expectObservable }) => {
        const input = cold('abcdef|', {
          a: at(1, 0, 'nan'),
          b: at(1, 1, 'inf'),
          c: at(1, 2, 'str'),
          d: at(1, 3, 'undef'),
          e: at(1, 4, 'nokey'),
          f: at(12, 5, 'ok'),
        });
        const r = run(table, input, {
          scheduler,
          time: (m) => (m.value in times ? (times[m.value] as number) : m.timestamp),
          key: (m) => {
            if (m.value === 'nokey') throw new RangeError('no key');
            return m.key;
          },
        });
        expectObservable(
          r.failed.pipe(
            tap((f) => errors.push(f.error)),
            map(failure),
          ),
        ).toBe('abcde-|', {
          a: '0:InvalidEventTimeError',
          b: '1:InvalidEventTimeError',
          c: '2:InvalidEventTimeError',
          d: '3:InvalidEventTimeError',
          e: '4:RangeError',
        });
        expectObservable(r.settled).toBe('-----f|', { f: 5 });
      });
      expect((errors[0] as InvalidEventTimeError).retriable).to.equal(false);
      expect((errors[0] as Error).message).to.match(/must be a finite number of ms, not NaN/);
      expect(table.get('k')).to.deep.equal([{ start: 10, end: 20, value: 1 }]);
    });

    it('an aggregate that throws fails the record and leaves its windows unchanged', () => {
      const table = windows<number>({
        window: tumbling(10),
        aggregate: {
          init: () => 0,
          add: (n, v: string) => {
            if (v === 'bad') throw new TypeError('bad value');
            return n + 1;
          },
        },
        idleAfterMs: NEVER_IDLE,
      });
      scheduler.run(({ cold, expectObservable }) => {
        const r = run(table, cold('abc|', { a: at(1, 0), b: at(2, 1, 'bad'), c: at(3, 2) }), { scheduler });
        expectObservable(r.failed.pipe(map(failure))).toBe('-b-|', { b: '1:TypeError' });
        expectObservable(r.committed).toBe('a--|', { a: 1 });
      });
      expect(table.get('k')).to.deep.equal([{ start: 0, end: 10, value: 2 }]);
    });
  });
});
