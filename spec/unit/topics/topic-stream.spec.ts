import { expect } from 'chai';
import { type Observable, type Observer, defer, map, of, switchMap, take, takeUntil } from 'rxjs';
import { TopicStream, type DirectSubscriber } from '../../../lib/topics/topic-stream.js';
import { marbles } from '../../support/marbles.js';

/**
 * A host that runs a direct subscription over a marble source instead of a consumer: the source's
 * subscription is the consumer's lifetime, so `expectSubscriptions` shows when the consumer stops.
 */
function host(source: Observable<unknown>): DirectSubscriber {
  return {
    subscribeDirect: (_topic, pipeline, observer: Partial<Observer<unknown>>) => {
      const subscription = pipeline(source as never).subscribe({
        next: (value) => observer.next?.(value),
        error: (error: unknown) => observer.error?.(error),
        complete: () => observer.complete?.(),
      });
      return () => subscription.unsubscribe();
    },
  };
}

function topicOver(source: Observable<string>): TopicStream<string> {
  return new TopicStream<string>(host(source));
}

describe('TopicStream: a subscription is the consumer’s lifetime (marbles)', () => {
  it('an operator applied outside the topic (take through defer) ends the consumer with the subscriber it passed', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d|');
      expectObservable(defer(() => topicOver(source)).pipe(take(2))).toBe('-a-(b|)');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('a lifted take completes the subscriber and ends the consumer', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d|');
      expectObservable(
        topicOver(source).pipe(
          map((v) => v.toUpperCase()),
          take(2),
        ),
      ).toBe('-A-(B|)');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('takeUntil, lifted or outside, ends the consumer when its notifier fires', () => {
    marbles().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const lifted = cold('-a-b-c-d|');
      const outside = cold('-a-b-c-d|');
      const stop = hot('----x');
      expectObservable(topicOver(lifted).pipe(takeUntil(stop))).toBe('-a-b|');
      expectObservable(defer(() => topicOver(outside)).pipe(takeUntil(stop))).toBe('-a-b|');
      expectSubscriptions(lifted.subscriptions).toBe('^---!');
      expectSubscriptions(outside.subscriptions).toBe('^---!');
    });
  });

  it('switchMap ends the inner consumer at each switch and the last one at unsubscription', () => {
    marbles().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const inner = cold('-i-j-k-l');
      const outer = hot('-x----y---');
      const unsubscribe = '----------!';
      expectObservable(outer.pipe(switchMap(() => topicOver(inner))), unsubscribe).toBe('--i-j--i-j');
      expectSubscriptions(inner.subscriptions).toBe(['-^----!', '------^---!']);
    });
  });

  it('a plain unsubscription ends the consumer', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d|');
      expectObservable(topicOver(source), '---!').toBe('-a-');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('a plain observer: its Subscription closes on complete and on unsubscription, and a throw in next reaches the host', () => {
    const completed: string[] = [];
    const done = topicOver(of('a')).subscribe({ complete: () => completed.push('done') });
    expect(done.closed).to.equal(true);
    expect(completed).to.deep.equal(['done']);
    const thrown: unknown[] = [];
    const throwing = new TopicStream<string>({
      subscribeDirect: (_topic, _pipeline, observer) => {
        try {
          observer.next?.('a');
        } catch (error) {
          thrown.push(error);
        }
        return undefined;
      },
    });
    throwing.subscribe(() => {
      throw new Error('in next');
    });
    expect(thrown).to.have.length(1);
  });
});
