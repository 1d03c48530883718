import { expect } from 'chai';
import {
  Observable,
  Subject,
  defer,
  first,
  firstValueFrom,
  delay,
  map,
  share,
  switchMap,
  take,
  takeUntil,
  tap,
  toArray,
} from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  type App,
  type Message,
  type Topic,
  type Transport,
} from '../../lib/index.js';
import { waitFor } from '../../lib/testing/index.js';
import { Handled, auditCommits } from '../support/audit.js';
import { delegateTransport } from '../support/delegate.js';

// Issue 16, findings 1 and 2: a topic is a cold Observable, and a subscription is its consumer's lifetime.

interface Item {
  readonly id: number;
}

interface Setup {
  readonly broker: MemoryBroker;
  readonly app: App;
  readonly items: Topic<Item>;
  /** `app.run()`, settled (its error, or undefined) so that a test can check it did not reject. */
  readonly run: Promise<unknown>;
  readonly handled: Handled;
  readonly violations: string[];
}

function setup(id: string, wrap: (transport: Transport) => Transport = (t) => t): Setup {
  const broker = new MemoryBroker({ defaultPartitions: 1 });
  const handled = new Handled();
  const { transport, violations } = auditCommits(wrap(new MemoryTransport(broker)), handled);
  const app = createApp({ id, transport, logger: silentLogger, agentDefaults: { commitIntervalMs: 1 } });
  const items = app.topic<Item>('items', { value: json() });
  const run = app.run({ handleSignals: false }).then(
    () => undefined,
    (error: unknown) => error,
  );
  return { broker, app, items, run, handled, violations };
}

async function send(items: Topic<Item>, ids: readonly number[]): Promise<void> {
  await items.sendMany(ids.map((id) => ({ value: { id } })));
}

async function committed(app: App, group: string): Promise<number> {
  const offsets = await (await app.transport()).committedOffsets(group, 'items');
  return offsets.reduce((sum, { offset }) => sum + offset, 0);
}

/** The direct subscription's consumer is gone: no agent listed, no member left in its group. */
async function consumerGone(s: Setup, name = 'items.subscriber'): Promise<void> {
  await waitFor(() => !s.app.agents.some((agent) => agent.name === name), {
    description: `${name} to leave app.agents`,
  });
  await waitFor(() => s.broker.members(`${s.app.id}.${name}`) === 0, {
    description: `${name} to leave its group`,
  });
}

/** Ends the app and checks that nothing failed it. */
async function stopCleanly(s: Setup): Promise<void> {
  await s.app.stop();
  expect(await s.run).to.equal(undefined);
  expect(s.app.failure).to.equal(undefined);
  expect(s.violations).to.deep.equal([]);
}

describe('a subscription to a topic is its consumer’s lifetime (issue 16, findings 1 and 2)', () => {
  it('finding 1: unsubscribing the subscriber it was given stops the consumer; what was handed is committed, nothing after', async () => {
    const s = setup('unsub');
    await send(s.items, [0, 1, 2]);
    const seen: number[] = [];
    // The classic wrapper: it ties nothing to the Subscription `subscribe()` returns, only to its subscriber.
    const wrapped = new Observable<Message<Item, string | null>>((subscriber) => {
      s.items.subscribe(subscriber);
    });
    const subscription = wrapped.subscribe((message) => {
      seen.push(message.value.id);
      s.handled.add(message.topic, message.partition, message.offset);
    });
    await waitFor(async () => (await committed(s.app, 'unsub.items.subscriber')) === 3);
    subscription.unsubscribe();
    await consumerGone(s);
    // One more message: an agent of its own shows it was delivered; the subscription's group never saw it.
    const other = s.app.agent('other', s.items, (item$) =>
      item$.pipe(tap((m) => s.handled.add(m.topic, m.partition, m.offset))),
    );
    await send(s.items, [3]);
    await waitFor(async () => (await committed(s.app, other.group)) === 4);
    expect(seen).to.deep.equal([0, 1, 2]);
    expect(await committed(s.app, 'unsub.items.subscriber')).to.equal(3);
    await stopCleanly(s);
  });

  it('finding 1: firstValueFrom resolves with the first message, its consumer stops, the next subscription of the group resumes after it', async () => {
    const s = setup('first-value');
    await send(s.items, [0, 1, 2, 3, 4]);
    const mapped: number[] = [];
    const value = await firstValueFrom(
      s.items.pipe(
        map((m) => {
          mapped.push(m.value.id);
          s.handled.add(m.topic, m.partition, m.offset);
          return m.value.id;
        }),
      ),
    );
    expect(value).to.equal(0);
    await consumerGone(s);
    expect(mapped).to.deep.equal([0]); // the pipeline saw nothing after the first
    expect(await committed(s.app, 'first-value.items.subscriber')).to.equal(1);
    const next = await firstValueFrom(
      s.items.pipe(tap((m) => s.handled.add(m.topic, m.partition, m.offset))),
    );
    expect(next.value.id).to.equal(1);
    await consumerGone(s);
    expect(await committed(s.app, 'first-value.items.subscriber')).to.equal(2);
    await stopCleanly(s);
  });

  it('finding 2: take(2) completes the observer, the app keeps running, the rest is left for the next subscription', async () => {
    const s = setup('take');
    await send(s.items, [0, 1, 2, 3]);
    const seen: number[] = [];
    let completed = 0;
    const subscription = s.items.pipe(take(2)).subscribe({
      next: (m) => {
        seen.push(m.value.id);
        s.handled.add(m.topic, m.partition, m.offset);
      },
      complete: () => completed++,
    });
    await waitFor(() => completed === 1, { description: 'complete' });
    expect(subscription.closed).to.equal(true);
    await consumerGone(s);
    expect(seen).to.deep.equal([0, 1]);
    expect(await committed(s.app, 'take.items.subscriber')).to.equal(2);
    expect(s.app.failure).to.equal(undefined);
    const rest = await firstValueFrom(
      s.items.pipe(
        tap((m) => s.handled.add(m.topic, m.partition, m.offset)),
        map((m) => m.value.id),
        take(2),
        toArray(),
      ),
    );
    expect(rest).to.deep.equal([2, 3]);
    await stopCleanly(s);
  });

  it('finding 2: first() and takeUntil() end a direct subscription normally, lifted or applied outside the topic', async () => {
    const s = setup('first');
    await send(s.items, [0, 1, 2, 3, 4, 5]);
    const mark = (m: Message<Item, string | null>): void => s.handled.add(m.topic, m.partition, m.offset);
    const ends: string[] = [];
    s.items.pipe(first()).subscribe({
      next: (m) => (mark(m), ends.push(`first ${m.value.id}`)),
      complete: () => ends.push('first done'),
    });
    await consumerGone(s);
    // takeUntil applied outside the topic (the topic gets takeUntil's subscriber), fired between two
    // messages of one synchronous batch
    const stop$ = new Subject<void>();
    defer(() => s.items)
      .pipe(
        tap((m) => {
          mark(m);
          ends.push(`until ${m.value.id}`);
          if (m.value.id === 2) stop$.next();
        }),
        takeUntil(stop$),
      )
      .subscribe({ complete: () => ends.push('until done') });
    await consumerGone(s);
    expect(ends).to.deep.equal(['first 0', 'first done', 'until 1', 'until 2', 'until done']);
    expect(await committed(s.app, 'first.items.subscriber')).to.equal(3);
    // takeUntil lifted into the topic's pipeline, fired from outside
    const later$ = new Subject<void>();
    const seen: number[] = [];
    let completed = false;
    s.items.pipe(takeUntil(later$)).subscribe({
      next: (m) => (mark(m), seen.push(m.value.id)),
      complete: () => (completed = true),
    });
    await waitFor(() => seen.length === 3);
    later$.next();
    expect(completed).to.equal(true);
    await consumerGone(s);
    expect(seen).to.deep.equal([3, 4, 5]);
    await stopCleanly(s);
  });

  it('finding 1: switchMap between two topics leaves no consumer running, and each inner subscription resumes its group', async () => {
    const s = setup('switch');
    const commands = s.app.topic<string>('commands', { value: json() });
    await send(s.items, [0, 1, 2]);
    const seen: string[] = [];
    const subscription = commands
      .pipe(
        tap((m) => s.handled.add(m.topic, m.partition, m.offset)),
        switchMap((command) =>
          s.items.pipe(
            tap((m) => s.handled.add(m.topic, m.partition, m.offset)),
            map((m) => `${command.value}:${m.value.id}`),
          ),
        ),
      )
      .subscribe((line) => seen.push(line));
    await commands.send('a');
    await waitFor(() => seen.length === 3);
    await waitFor(async () => (await committed(s.app, 'switch.items.subscriber')) === 3);
    await commands.send('b'); // the inner subscription of 'a' ends; that of 'b' resumes the group at 3
    await waitFor(() => s.broker.members('switch.items.subscriber') === 1 && s.app.agents.length === 2);
    await send(s.items, [3]);
    await waitFor(() => seen.length === 4);
    expect(seen).to.deep.equal(['a:0', 'a:1', 'a:2', 'b:3']);
    expect(s.app.agents.map((agent) => agent.name).sort()).to.deep.equal([
      'commands.subscriber',
      'items.subscriber',
    ]);
    subscription.unsubscribe();
    await consumerGone(s, 'commands.subscriber');
    await consumerGone(s, 'items.subscriber');
    expect(s.app.agents).to.deep.equal([]);
    await stopCleanly(s);
  });

  it('finding 2: app.stop() completes direct subscriptions, whoever subscribed', async () => {
    const s = setup('stop');
    await send(s.items, [0]);
    const completed: string[] = [];
    const direct = s.items.subscribe({
      next: (m) => s.handled.add(m.topic, m.partition, m.offset),
      complete: () => completed.push('direct'),
    });
    const piped = defer(() => s.items).subscribe({ complete: () => completed.push('through defer') });
    await waitFor(
      () =>
        s.broker.members('stop.items.subscriber') === 1 && s.broker.members('stop.items.subscriber-2') === 1,
    );
    await stopCleanly(s);
    expect(completed.sort()).to.deep.equal(['direct', 'through defer']);
    expect(direct.closed).to.equal(true);
    expect(piped.closed).to.equal(true);
    // a subscription after the stop began completes at once, with no consumer
    const late = s.items.subscribe({ complete: () => completed.push('late') });
    expect(late.closed).to.equal(true);
    expect(completed).to.include('late');
    expect(s.app.agents).to.deep.equal([]);
  });

  it('finding 1: unsubscribing mid-batch commits only what was handed; the rest goes to the next subscription', async () => {
    const s = setup('mid-batch');
    await send(s.items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // one partition: one batch
    const first: number[] = [];
    await new Promise<void>((resolve) =>
      s.items.pipe(take(3)).subscribe({
        next: (m) => {
          first.push(m.value.id);
          s.handled.add(m.topic, m.partition, m.offset);
        },
        complete: resolve,
      }),
    );
    await consumerGone(s);
    expect(first).to.deep.equal([0, 1, 2]);
    expect(await committed(s.app, 'mid-batch.items.subscriber')).to.equal(3);
    const rest: number[] = [];
    const subscription = s.items.subscribe((m) => {
      rest.push(m.value.id);
      s.handled.add(m.topic, m.partition, m.offset);
    });
    await waitFor(async () => (await committed(s.app, 'mid-batch.items.subscriber')) === 10);
    subscription.unsubscribe();
    expect(rest).to.deep.equal([3, 4, 5, 6, 7, 8, 9]);
    await stopCleanly(s);
  });

  it('a subscription that ends while its consumer is still joining commits what it handed, then leaves the group', async () => {
    let joined!: () => void;
    const gate = new Promise<void>((resolve) => (joined = resolve));
    const s = setup('joining', (inner) =>
      delegateTransport(inner, {
        // the memory consumer delivers its first batch before `consume` resolves; hold that resolution
        consume: async (options, handlers) => {
          const consumer = await inner.consume(options, handlers);
          await gate;
          return consumer;
        },
      }),
    );
    await send(s.items, [0, 1, 2]);
    const first = await firstValueFrom(
      s.items.pipe(tap((m) => s.handled.add(m.topic, m.partition, m.offset))),
    );
    expect(first.value.id).to.equal(0);
    expect(s.app.agents).to.deep.equal([]); // gone from the list at once, still stopping
    joined();
    await consumerGone(s);
    expect(await committed(s.app, 'joining.items.subscriber')).to.equal(1);
    await stopCleanly(s);
  });

  it('the next subscription of a group joins once the previous one has left it (no rebalance between the two)', async () => {
    const membersAtJoin: number[] = [];
    const s = setup('sequence', (inner) =>
      delegateTransport(inner, {
        consume: (options, handlers) => {
          membersAtJoin.push(s.broker.members(options.groupId));
          return inner.consume(options, handlers);
        },
      }),
    );
    await send(s.items, [0, 1, 2]);
    for (const expected of [0, 1, 2]) {
      const message = await firstValueFrom(
        s.items.pipe(tap((m) => s.handled.add(m.topic, m.partition, m.offset))),
      );
      expect(message.value.id).to.equal(expected);
    }
    await consumerGone(s);
    expect(membersAtJoin).to.deep.equal([0, 0, 0]);
    expect(await committed(s.app, 'sequence.items.subscriber')).to.equal(3);
    await stopCleanly(s);
  });

  it('topic.pipe(share()): one consumer feeds every subscriber, until the last one is gone', async () => {
    const s = setup('shared');
    const shared = s.items.pipe(
      tap((m) => s.handled.add(m.topic, m.partition, m.offset)),
      share(),
    );
    const a: number[] = [];
    const b: number[] = [];
    const first = shared.subscribe((m) => a.push(m.value.id));
    const second = shared.subscribe((m) => b.push(m.value.id));
    await send(s.items, [0, 1]);
    await waitFor(() => a.length === 2 && b.length === 2);
    // the second subscription reads through the first one's consumer: no group of its own
    expect(s.broker.members('shared.items.subscriber')).to.equal(1);
    expect(s.broker.members('shared.items.subscriber-2')).to.equal(0);
    first.unsubscribe(); // the other subscriber still reads: the consumer goes on
    await send(s.items, [2, 3]);
    await waitFor(() => b.length === 4);
    expect(a).to.deep.equal([0, 1]);
    expect(b).to.deep.equal([0, 1, 2, 3]);
    await waitFor(async () => (await committed(s.app, 'shared.items.subscriber')) === 4);
    second.unsubscribe();
    await consumerGone(s);
    await consumerGone(s, 'items.subscriber-2');
    expect(await committed(s.app, 'shared.items.subscriber-2')).to.equal(0);
    await stopCleanly(s);
  });

  it('a pipeline that stops reading before it completes (take, then delay) leaves the records after for the next subscription', async () => {
    const s = setup('stops-reading');
    await send(s.items, [0, 1, 2, 3, 4]); // one batch: pushed while the delay holds the completion back
    const taken = await firstValueFrom(
      s.items.pipe(
        tap((m) => s.handled.add(m.topic, m.partition, m.offset)),
        take(1),
        delay(20),
      ),
    );
    expect(taken.value.id).to.equal(0);
    await consumerGone(s);
    expect(await committed(s.app, 'stops-reading.items.subscriber')).to.equal(1);
    const next = await firstValueFrom(
      s.items.pipe(tap((m) => s.handled.add(m.topic, m.partition, m.offset))),
    );
    expect(next.value.id).to.equal(1);
    await stopCleanly(s);
  });
});
