import { expect } from 'chai';
import { Observable, type Operator, type OperatorFunction, map, of } from 'rxjs';
import { releaseMessage } from '../../../lib/core/ack.js';
import { operateMessages } from '../../../lib/core/operate-messages.js';
import {
  type Message,
  MemoryBroker,
  MemoryTransport,
  NotAMessageError,
  aggregateWindows,
  count,
  createApp,
  filterValue,
  joinTable,
  mapValue,
  mergeMapValue,
  silentLogger,
  sink,
  tumbling,
  updateTable,
} from '../../../lib/index.js';
import { testMessage } from '../../../lib/testing/index.js';
import { marbles } from '../../support/marbles.js';

/** An Observable that records the operators lifted onto it, as a direct subscription's TopicStream does. */
class Recording<T> extends Observable<T> {
  readonly lifted: Operator<unknown, unknown>[] = [];
  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    if (operator) this.lifted.push(operator as Operator<unknown, unknown>);
    return super.lift(operator);
  }
}

/** Holds each message for `frames` frames of the scheduler, then hands it on. */
function holding<T, K>(
  frames: number,
  schedule: (work: () => void, delay: number) => void,
  tornDown: string[],
): OperatorFunction<Message<T, K>, Message<T, K>> {
  return operateMessages<T, K, Message<T, K>>('holding', (subscriber, run) => {
    let pending = 0;
    return {
      next(message) {
        pending++;
        schedule(() => {
          pending--;
          releaseMessage(message);
          run.emit(message);
          run.completeIfIdle();
        }, frames);
      },
      busy: () => pending > 0,
      teardown: () => tornDown.push('teardown'),
    };
  });
}

describe('operateMessages (the kernel of rivulet operators)', () => {
  it('lifts: every rivulet operator and sink is recorded by the source it is applied to', () => {
    const app = createApp({
      id: 'lifts',
      transport: new MemoryTransport(new MemoryBroker()),
      logger: silentLogger,
    });
    const counts = app.table<number>('counts', { default: () => 0 });
    const perMinute = app.windowTable('per-minute', { window: tumbling(60_000), aggregate: count() });
    const operators: [string, OperatorFunction<Message<number, string>, unknown>][] = [
      ['mapValue', mapValue((n: number) => n)],
      ['filterValue', filterValue((n: number) => n > 0)],
      ['updateTable', updateTable(counts, (n) => n + 1)],
      ['aggregateWindows', aggregateWindows(perMinute)],
      ['sink', sink<number, string>(() => of(undefined), { name: 'nowhere' })],
      ['joinTable', joinTable(app.globalTable<number>('rates'), (n, rate) => n * rate)],
    ];
    for (const [name, operator] of operators) {
      const source = new Recording<Message<number, string>>();
      operator(source);
      expect(source.lifted, name).to.have.length(1);
    }
    // mergeMapValue is the kernel's claim, then RxJS's mergeMap: both lift
    const source = new Recording<Message<number, string>>();
    mergeMapValue((n: number) => of(n))(source);
    expect(source.lifted).to.have.length(1);
  });

  it('completes only once the work in flight ended; the source subscription ends at its completion', () => {
    const tornDown: string[] = [];
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b|', { a: testMessage(1, { offset: 0 }), b: testMessage(2, { offset: 1 }) });
      const output = source.pipe(
        holding(3, (work, delay) => scheduler.schedule(work, delay), tornDown),
        map((message) => message.value),
      );
      expectObservable(output).toBe('---a-(b|)', { a: 1, b: 2 });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(tornDown).to.deep.equal(['teardown']);
  });

  it('an unsubscription downstream unsubscribes the source and runs the teardown at once', () => {
    const tornDown: string[] = [];
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-|', {
        a: testMessage(1),
        b: testMessage(2),
        c: testMessage(3),
      });
      const output = source.pipe(
        holding(1, (work, delay) => scheduler.schedule(work, delay), tornDown),
        map((message) => message.value),
      );
      expectObservable(output, '^--!').toBe('-a-', { a: 1 });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(tornDown).to.deep.equal(['teardown']);
  });

  it('errors the subscriber with NotAMessageError for anything but a message, and passes errors through', () => {
    marbles().run(({ cold, expectObservable }) => {
      const notMessages = cold('a|', { a: 42 }) as unknown as Observable<Message<number, string>>;
      expectObservable(notMessages.pipe(mapValue((n) => n))).toBe(
        '#',
        undefined,
        new NotAMessageError('mapValue', 42),
      );
      const failing = cold<Message<number, string>>('-#', undefined, new Error('upstream'));
      expectObservable(failing.pipe(mapValue((n) => n))).toBe('-#', undefined, new Error('upstream'));
    });
  });

  it('a throw while an operator sets up errors its subscriber instead of escaping subscribe()', () => {
    const failing = operateMessages<number, string, never>('broken', () => {
      throw new Error('cannot set up');
    });
    let error: unknown;
    of(testMessage(1, { key: 'k' }))
      .pipe(failing)
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.an('error').with.property('message', 'cannot set up');
  });
});
