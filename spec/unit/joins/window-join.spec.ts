import { expect } from 'chai';
import { type Observable, map } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  type JoinSide,
  type JoinType,
  type Message,
  type StreamJoin,
  createApp,
  joinStreams,
  silentLogger,
  string,
  windowJoin,
} from '../../../lib/index.js';
import { type TestFailure, testMessage, testPipeline } from '../../../lib/testing/index.js';
import { dueFrames, marbles } from '../../support/marbles.js';

type In = Message<JoinSide<string, string>, string>;
const NEVER_IDLE = 1e9;

/** A join of two string topics, `within` 5, under test (no agent). */
function join<T extends JoinType>(
  type: T,
  graceMs = 0,
  late: 'dead-letter' | 'drop' = 'dead-letter',
  idleAfterMs = NEVER_IDLE,
) {
  const app = createApp({ id: 'unit', logger: silentLogger });
  const left = app.topic<string>('l', { value: string() });
  const right = app.topic<string>('r', { value: string() });
  return joinStreams(app, 'j', left, right, { within: 5, graceMs, type, late, idleAfterMs });
}

const L = (t: number, offset: number, value: string, key = 'k'): In =>
  testMessage<JoinSide<string, string>, string>(
    { side: 'left', value },
    { key, offset, partition: 0, timestamp: t },
  );
const R = (t: number, offset: number, value: string, key = 'k'): In =>
  testMessage<JoinSide<string, string>, string>(
    { side: 'right', value },
    { key, offset, partition: 0, timestamp: t },
  );

function run<T extends JoinType>(
  j: StreamJoin<string, string, string, T>,
  input: Observable<In>,
  scheduler: TestScheduler,
) {
  const r = testPipeline(
    (m$: Observable<In>) =>
      m$.pipe(windowJoin(j, (l, r, key) => `${key}:${l ?? '-'}+${r ?? '-'}`, { scheduler })),
    input,
  );
  return { ...r, shown: r.output.pipe(map((m) => `${m.value}@${m.timestamp}`)) };
}
const failure = (f: TestFailure): string => `${f.offset}:${(f.error as Error).name}`;

describe('windowJoin (marbles, testPipeline)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbles()));

  it('inner: a record meets the other side’s records within 5 ms of it, once each; the timestamp is the later one', () => {
    const j = join('inner');
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('abcd---|', {
        a: L(10, 0, 'a'),
        b: R(15, 1, 'b'),
        c: R(16, 2, 'c'),
        d: L(12, 3, 'd'),
      });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('-x-(yz)|', { x: 'k:a+b@15', y: 'k:d+b@15', z: 'k:d+c@16' });
      expectObservable(r.settled).toBe('abcd---|', { a: 0, b: 1, c: 2, d: 3 });
      expectSubscriptions(input.subscriptions).toBe('^------!');
    });
    expect(j.stats()).to.deep.include({ emitted: 3, settled: 3, pending: 0 });
  });

  it('other keys never meet', () => {
    const j = join('inner');
    scheduler.run(({ cold, expectObservable }) => {
      const r = run(j, cold('ab|', { a: L(10, 0, 'a', 'x'), b: R(10, 1, 'b', 'y') }), scheduler);
      expectObservable(r.shown).toBe('--|');
    });
  });

  it('left: a left record that met nothing comes out when it expires (watermark past t + 2 × within), not before', () => {
    const j = join('left');
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('abcde---|', {
        a: L(0, 0, 'a'),
        b: R(20, 1, 'b'),
        c: L(16, 2, 'c'),
        d: R(26, 3, 'd'),
        e: R(27, 4, 'e'),
      });
      // Stream time is the lower of the two sides' highest event times. b (20) leaves it at 0 (left's
      // highest). c (16) is on time and meets b (4 ms away); stream time 16 ≥ 0 + 11: a expires
      // unmatched. d (26), e (27) leave stream time at 16 (left's highest): c stays buffered.
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('--(yx)--|', { x: 'k:a+-@0', y: 'k:c+b@20' });
    });
  });

  it('left: a record stays until nothing on time can meet it: a record behind stream time still meets it, and no unmatched result goes out first', () => {
    const j = join('left');
    scheduler.run(({ cold, expectObservable }) => {
      // c (4) is on time and meets a. Kafka Streams would have emitted a unmatched already: its stream
      // time is the highest of either side (8, from b), past a's window end (0 + 5).
      const input = cold('abc|', { a: L(0, 0, 'a'), b: R(8, 1, 'b'), c: R(4, 2, 'c') });
      expectObservable(run(j, input, scheduler).shown).toBe('--x|', { x: 'k:a+c@4' });
    });
  });

  it('left, idle: with no new record, stream time follows the scheduler’s clock and an unmatched record comes out on time; the subscription then ends', () => {
    const j = join('left', 2, 'dead-letter', 4);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // a at event time 0, frame 0: it expires once the watermark (stream time − 2) reaches 11, i.e.
      // by the clock at frame 13 (idle from frame 4 on).
      const input = cold('a 19ms |', { a: L(0, 0, 'a') });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('13ms x 6ms |', { x: 'k:a+-@0' });
      expectSubscriptions(input.subscriptions).toBe('^ 19ms !');
    });
    expect(j.stats()).to.deep.include({ emitted: 1, settled: 1, pending: 0 });
  });

  it('left, idle: unsubscribing the output mid-stream unsubscribes the input and cancels the idle timers (nothing expires into a closed subscription)', () => {
    const j = join('left', 2, 'dead-letter', 4);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // as above, a would come out at frame 13 by the clock; the output is unsubscribed at frame 9
      const input = cold('a 19ms |', { a: L(0, 0, 'a') });
      const r = run(j, input, scheduler);
      expectObservable(r.shown, '^ 8ms !').toBe('');
      expectSubscriptions(input.subscriptions).toBe('^ 8ms !');
      // at frame 10, what is still scheduled: no timer of the join (its probe was due at frame 13)
      const look = cold('10ms (x|)', { x: 0 }).pipe(map(() => dueFrames(scheduler)));
      expectObservable(look).toBe('10ms (x|)', { x: [] });
    });
    expect(j.stats()).to.deep.include({ emitted: 0, pending: 0 });
  });

  it('outer: unmatched records of both sides come out at expiry; matched ones do not', () => {
    const j = join('outer');
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('abc|', { a: L(0, 0, 'a'), b: R(3, 1, 'b'), c: R(30, 2, 'c') });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('-x-|', { x: 'k:a+b@3' });
    });
    const k = join('outer');
    scheduler = marbles(); // a fresh clock
    scheduler.run(({ cold, expectObservable }) => {
      // Both sides at 30 (c, d): stream time 30 expires a and b, unmatched.
      const input = cold('abcd---|', {
        a: L(0, 0, 'a'),
        b: R(0, 1, 'b', 'y'),
        c: R(30, 2, 'c'),
        d: L(30, 3, 'd', 'z'),
      });
      const r = run(k, input, scheduler);
      expectObservable(r.shown).toBe('---(xy)|', { x: 'k:a+-@0', y: 'y:-+b@0' });
    });
  });

  it('late: t + within behind the watermark is dead-lettered (LateJoinRecordError); grace makes it on time', () => {
    const j = join('inner');
    scheduler.run(({ cold, expectObservable }) => {
      // a and z bring both sides to 20: b (14) is late (14 + 5 < 20), c (16) is not and meets a.
      const input = cold('azbc|', {
        a: R(20, 0, 'a'),
        z: L(20, 1, 'z', 'y'),
        b: L(14, 2, 'b'),
        c: L(16, 3, 'c'),
      });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('---x|', { x: 'k:c+a@20' });
      expectObservable(r.failed.pipe(map(failure))).toBe('--x-|', { x: '2:LateJoinRecordError' });
    });
    const g = join('inner', 10);
    scheduler = marbles(); // a fresh clock
    scheduler.run(({ cold, expectObservable }) => {
      // w and b move stream time to 30: c (16) is 14 behind, within within + grace, and meets a.
      const input = cold('awbc|', {
        a: R(20, 0, 'a'),
        w: L(30, 1, 'w', 'y'),
        b: R(30, 2, 'b'),
        c: L(16, 3, 'c'),
      });
      expectObservable(run(g, input, scheduler).shown).toBe('---x|', { x: 'k:c+a@20' });
    });
    const d = join('inner', 0, 'drop');
    scheduler = marbles(); // a fresh clock
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('azb|', { a: R(20, 0, 'a'), z: L(20, 1, 'z', 'y'), b: L(14, 2, 'b') });
      expectObservable(run(d, input, scheduler).settled).toBe('azb|', { a: 0, z: 1, b: 2 });
    });
    expect(d.stats().lateDropped).to.equal(1);
  });

  it('stream time per side: a side not seen yet holds stream time back (the other side’s first copies may land well before its own), until it is idle', () => {
    const j = join('inner', 0, 'dead-letter', 4);
    scheduler.run(({ cold, expectObservable }) => {
      // The left side alone at first: b (100) does not move stream time, so c (right, 2) is on time
      // and meets a. Then left only again, from frame 3 on: nothing from the right since c (frame 2),
      // so from frame 6 the right side is idle and e (200) moves stream time to 200: f (right, 150) is late.
      const input = cold('abc----ef|', {
        a: L(1, 0, 'a'),
        b: L(100, 1, 'b', 'w'),
        c: R(2, 2, 'c'),
        e: L(200, 3, 'e', 'w'),
        f: R(150, 4, 'f', 'v'),
      });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('--x------|', { x: 'k:a+c@2' });
      expectObservable(r.failed.pipe(map(failure))).toBe('--------x|', { x: '4:LateJoinRecordError' });
    });
  });

  it('stream time per side: with the left side far ahead of the right in event time, the right records still join (not late)', () => {
    const j = join('inner');
    scheduler.run(({ cold, expectObservable }) => {
      // The left copy agent ran ahead: c (left, 100) arrives before d (right, 2). Stream time is the
      // lower side's highest event time (right: 0), so d is on time and meets b; e brings the right
      // side to 100 and meets c.
      const input = cold('abcde|', {
        a: R(0, 0, 'a', 'z'),
        b: L(1, 1, 'b'),
        c: L(100, 2, 'c', 'w'),
        d: R(2, 3, 'd'),
        e: R(100, 4, 'e', 'w'),
      });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('---xy|', { x: 'k:b+d@2', y: 'w:c+e@100' });
      expectObservable(r.failed.pipe(map(failure))).toBe('-----|');
    });
    expect(j.stats().watermarks).to.deep.equal({ 0: 100 });
  });

  it('stream time per side: a side that sent nothing for idleAfterMs stops holding stream time back, until its next record', () => {
    const j = join('left', 0, 'dead-letter', 4);
    scheduler.run(({ cold, expectObservable }) => {
      // Left records keep coming (the partition is never idle); the right side sent a at frame 0 and
      // nothing since: from frame 4 it is idle, so d (30) moves stream time to 30 at frame 5: b and c
      // expire unmatched, and e (right, 2) is late.
      const input = cold('ab-c-d-e-|', {
        a: R(0, 0, 'a', 'z'),
        b: L(1, 1, 'b'),
        c: L(3, 2, 'c', 'k2'),
        d: L(30, 3, 'd', 'k3'),
        e: R(2, 4, 'e'),
      });
      const r = run(j, input, scheduler);
      expectObservable(r.shown).toBe('-----(xy)|', { x: 'k:b+-@1', y: 'k2:c+-@3' });
      expectObservable(r.failed.pipe(map(failure))).toBe('-------x-|', { x: '4:LateJoinRecordError' });
    });
  });

  it('a joiner that throws fails the result, not the record; the record settles', () => {
    const j = join('inner');
    scheduler.run(({ cold, expectObservable }) => {
      const r = testPipeline(
        (m$: Observable<In>) =>
          m$.pipe(
            windowJoin(
              j,
              () => {
                throw new Error('no');
              },
              { scheduler },
            ),
          ),
        cold('ab|', { a: L(0, 0, 'a'), b: R(1, 1, 'b') }),
      );
      expectObservable(r.settled).toBe('ab|', { a: 0, b: 1 });
    });
    expect(j.stats().settled).to.equal(0);
  });
});
