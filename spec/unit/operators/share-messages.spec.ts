import { expect } from 'chai';
import { delay, map, merge, mergeMap, of, share, switchMap, take, timer } from 'rxjs';
import {
  MessageReusedError,
  filterValue,
  mapValue,
  shareMessages,
  type Message,
} from '../../../lib/index.js';
import { testPipeline } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

type M = Message<number, string | null>;
const offsets = map((message: M) => message.offset);

describe('shareMessages', () => {
  it('sends each message to every branch; the record settles and commits once every branch settled it', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-----b-|', { a: 1, b: 2 });
      const run = testPipeline((message$) => {
        const shared$ = message$.pipe(shareMessages());
        // branch A takes 1 frame, branch B 3: each ends at the end of the pipeline (settled there)
        return merge(shared$.pipe(delay(1)), shared$.pipe(delay(3)));
      }, source);
      expectObservable(run.output.pipe(offsets)).toBe('-a-a---b-(b|)', { a: 0, b: 1 });
      expectObservable(run.settled).toBe('---a-----(b|)', { a: 0, b: 1 });
      expectObservable(run.committed).toBe('---a-----(b|)', { a: 1, b: 2 });
      expectSubscriptions(source.subscriptions).toBe('^-------!'); // one subscription, for both branches
    });
  });

  it('a branch that filters its message on purpose has settled it; the others still decide', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        (message$) => {
          const shared$ = message$.pipe(shareMessages());
          return merge(shared$.pipe(filterValue((n) => n > 1)), shared$.pipe(delay(5)));
        },
        cold('a-b|', { a: 1, b: 2 }),
      );
      // branch A drops a (settling its copy) and passes b; branch B takes 5 frames
      expectObservable(run.output.pipe(map((m) => m.value))).toBe('--b--a-(b|)', { a: 1, b: 2 });
      expectObservable(run.settled).toBe('-----a-(b|)', { a: 0, b: 1 });
    });
  });

  it('a branch that fails its message sends the record to the error policy once; it never settles', () => {
    marbles().run(({ cold, expectObservable }) => {
      const error = new Error('branch A refused it');
      const run = testPipeline(
        (message$) => {
          const shared$ = message$.pipe(shareMessages());
          const branchA = shared$.pipe(
            mapValue((n: number) => {
              if (n === 2) throw error;
              return n;
            }),
          );
          return merge(branchA, shared$.pipe(delay(2)));
        },
        cold('a-b|', { a: 1, b: 2 }),
      );
      expectObservable(run.failed).toBe('--f-|', { f: { partition: 0, offset: 1, error } });
      expectObservable(run.settled).toBe('--a-|', { a: 0 });
      expectObservable(run.committed).toBe('--a-|', { a: 1 });
    });
  });

  it('a branch that subscribes late sees the messages shared from then on; earlier records are settled by the others', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c|', { a: 1, b: 2, c: 3 });
      const run = testPipeline((message$) => {
        const shared$ = message$.pipe(shareMessages());
        const late$ = timer(3).pipe(switchMap(() => shared$.pipe(delay(2))));
        return merge(shared$, late$);
      }, source);
      expectObservable(run.output.pipe(map((m) => m.value))).toBe('a-b-c-(c|)', { a: 1, b: 2, c: 3 });
      expectObservable(run.settled).toBe('a-b---(c|)', { a: 0, b: 1, c: 2 });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('refCount: the source is unsubscribed when the last branch leaves, and subscribed afresh by the next one', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a----b----c|', { a: 1, b: 2, c: 3 });
      const run = testPipeline((message$) => {
        const shared$ = message$.pipe(shareMessages());
        return merge(shared$.pipe(take(1)), shared$.pipe(take(2)));
      }, source);
      expectObservable(run.output.pipe(map((m) => m.value))).toBe('(aa)-(b|)', { a: 1, b: 2 });
      expectObservable(run.settled).toBe('a----(b|)', { a: 0, b: 1 });
      expectSubscriptions(source.subscriptions).toBe('^----!');

      // after a reset, a new subscription starts a new fan-out over a new subscription of the source
      const again = cold('a-b|', { a: 1, b: 2 });
      const rerun = testPipeline((message$) => {
        const shared$ = message$.pipe(shareMessages());
        return merge(shared$.pipe(take(1)), timer(4).pipe(switchMap(() => shared$)));
      }, again);
      expectObservable(rerun.output.pipe(map((m) => m.value))).toBe('a---a-b|', { a: 1, b: 2 });
      expectSubscriptions(again.subscriptions).toBe(['(^!)', '----^--!']);
    });
  });

  it('unsubscribing downstream ends every branch and the one subscription of the source', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d|', { a: 1, b: 2, c: 3, d: 4 });
      const branch = cold('--x|');
      const run = testPipeline((message$) => {
        const shared$ = message$.pipe(shareMessages());
        return merge(shared$, shared$.pipe(mergeMap((m) => branch.pipe(map(() => m)))));
      }, source);
      expectObservable(run.output.pipe(map((m) => m.value)), '^---!').toBe('a-(ba)', { a: 1, b: 2 });
      expectSubscriptions(source.subscriptions).toBe('^---!');
      // the second branch's step for b (subscribed at 2) is cut at 4, before it emits at 4
      expectSubscriptions(branch.subscriptions).toBe(['^--!', '--^-!']);
    });
  });

  it('passes errors and completion to every branch', () => {
    marbles().run(({ cold, expectObservable }) => {
      const error = new Error('source broke');
      const shared$ = cold<M>('-#', undefined, error).pipe(shareMessages());
      expectObservable(merge(shared$, shared$.pipe(delay(5)))).toBe('-#', undefined, error);
      const done$ = cold<M>('--|').pipe(shareMessages());
      expectObservable(merge(done$, done$)).toBe('--|');
    });
  });

  it('a plain share() hands one object to both branches: the second one fails the record with MessageReusedError', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        (message$) => {
          const shared$ = message$.pipe(share());
          return merge(shared$.pipe(mapValue((n: number) => n)), shared$.pipe(mapValue((n: number) => n)));
        },
        cold('a|', { a: 1 }),
      );
      expectObservable(run.failed.pipe(map((f) => (f.error as MessageReusedError).message))).toBe('a|', {
        a: 'mapValue received the message of test[0]@0 that was already settled, replaced or in use elsewhere: to send each message to several branches use shareMessages() (not share()); to derive several messages use mergeMapValue or forkMessage',
      });
      expectObservable(run.settled).toBe('-|');
    });
  });

  it('mergeMap((m) => [m, m]) whose first branch settles at once fails the record, loudly, instead of settling it', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        mergeMap((m: M) => [m, m]),
        cold('a|', { a: 1 }),
      );
      expectObservable(run.failed.pipe(map((f) => [f.offset, (f.error as MessageReusedError).where]))).toBe(
        'a|',
        { a: [0, 'the end of the pipeline'] },
      );
      expectObservable(run.settled).toBe('-|');
      expectObservable(run.committed).toBe('-|');
    });
  });

  it('a message used again after its record settled is still reported, every time', () => {
    marbles().run(({ cold, expectObservable }) => {
      const run = testPipeline(
        mergeMap((m: M) => merge(of(m), of(m).pipe(delay(2)), of(m).pipe(delay(4)))),
        cold('a|', { a: 1 }),
      );
      expectObservable(run.settled).toBe('a---|', { a: 0 });
      expectObservable(run.failed.pipe(map((f) => f.error instanceof MessageReusedError))).toBe('--a-(a|)', {
        a: true,
      });
    });
  });

  it('one branch: each message passes on as it is', () => {
    marbles().run(({ cold, expectObservable }) => {
      const seen: M[] = [];
      const run = testPipeline(
        (message$) => {
          const shared$ = message$.pipe(
            map((m) => (seen.push(m), m)),
            shareMessages(),
          );
          return shared$.pipe(map((m) => (expect(m).to.equal(seen[seen.length - 1]), m)));
        },
        cold('ab|', { a: 1, b: 2 }),
      );
      expectObservable(run.settled).toBe('ab|', { a: 0, b: 1 });
    });
  });
});
