import { expect } from 'chai';
import { delay, filter, map, merge, mergeMap, of, take, tap, timer } from 'rxjs';
import {
  AgentFailedError,
  DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  NotAMessageError,
  PipelineCompletedError,
  RestartBudgetExceededError,
  createApp,
  createMessage,
  forkMessage,
  json,
  mapValue,
  mergeMapValue,
  sink,
  silentLogger,
  type App,
  type Message,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { Handled, auditCommits } from '../support/audit.js';

// Issue 8's findings 1-6, each a test that failed on the code before the supervised agent.

interface Item {
  readonly id: number;
}

function setup(partitions = 1) {
  const broker = new MemoryBroker({ defaultPartitions: partitions });
  const handled = new Handled();
  return { broker, handled, ...auditCommits(new MemoryTransport(broker), handled) };
}

async function send(app: App, count: number): Promise<void> {
  const items = app.topic<Item>('items', { value: json() });
  await items.sendMany(Array.from({ length: count }, (_, i) => ({ value: { id: i } })));
}

function deadLetters(broker: MemoryBroker): { id: number; error: string; name: string }[] {
  return broker.read('items.dlq', 0, 0, 1000).map((record) => ({
    id: (JSON.parse(record.value!.toString()) as Item).id,
    error: record.headers[DEAD_LETTER_HEADERS.error]!,
    name: record.headers[DEAD_LETTER_HEADERS.errorName]!,
  }));
}

/** Counts uncaught exceptions while a test runs (mocha's own handler is put back afterwards). */
function uncaught(): { readonly errors: unknown[]; restore(): void } {
  const errors: unknown[] = [];
  const previous = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const listener = (error: unknown): void => void errors.push(error);
  process.on('uncaughtException', listener);
  return {
    errors,
    restore() {
      process.off('uncaughtException', listener);
      for (const handler of previous) process.on('uncaughtException', handler);
    },
  };
}

describe('the contract holds for any RxJS pipeline (issue 8)', () => {
  let crashes: ReturnType<typeof uncaught>;
  beforeEach(() => (crashes = uncaught()));
  afterEach(() => crashes.restore());

  it('finding 1: a fan-out keeps the record unsettled until every copy is written; withValue is not public', async () => {
    const { transport, handled, violations } = setup();
    const app = createApp({ id: 'fanout', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const written: string[] = [];
    app.agent('copies', items, (item$) =>
      item$.pipe(
        mergeMap((m) => [forkMessage(m, 'fast'), m]),
        mergeMapValue((value: Item | string, m) =>
          timer(typeof value === 'string' ? 0 : 300).pipe(
            tap(() => {
              written.push(typeof value === 'string' ? value : 'slow');
              if (typeof value !== 'string') handled.add(m.topic, m.partition, m.offset);
            }),
            map(() => value),
          ),
        ),
      ),
    );
    await app.start();
    await send(app, 2);
    await waitFor(() => written.filter((w) => w === 'fast').length === 2);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await transport.committedOffsets('fanout.copies', 'items')).to.deep.equal([]);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    const [first] = app.agents[0]!.stats().partitions;
    expect(first!.committed).to.equal(2);
    expect('withValue' in createMessage({ value: 1 })).to.equal(false);
  });

  it('finding 1: the same message object sent down two paths is a MessageReusedError, dead-lettered, never settled early', async () => {
    const { broker, transport, handled, violations } = setup();
    const app = createApp({ id: 'reuse', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent(
      'twice',
      items,
      (item$) =>
        item$.pipe(
          mergeMap((m) => [m, m]),
          mergeMapValue((value, m) => {
            handled.add(m.topic, m.partition, m.offset);
            return of(value).pipe(delay(5));
          }),
        ),
      { errors: { retries: 0 } },
    );
    await app.start();
    await send(app, 1);
    await waitForCommitted(app);
    await app.stop();
    expect(deadLetters(broker).map((d) => d.name)).to.deep.equal(['MessageReusedError']);
    expect(violations).to.deep.equal([]);
  });

  it('finding 2: a plain map before mapValue fails the message with NotAMessageError, no uncaught exception', async () => {
    const { broker, transport } = setup();
    const app = createApp({ id: 'plain-map', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent(
      'values',
      items,
      (item$) =>
        item$.pipe(
          // @ts-expect-error a plain map drops the message: the compiler flags the mapValue after it
          map((m) => m.value),
          mapValue((v: Item) => v.id),
        ),
      { errors: { retries: 0 }, restarts: { max: 100 } },
    );
    await app.start();
    await send(app, 3);
    await waitForCommitted(app);
    await app.stop();
    expect(crashes.errors).to.deep.equal([]);
    expect(deadLetters(broker).map((d) => d.name)).to.deep.equal(Array(3).fill(NotAMessageError.name));
    expect(app.agents[0]!.stats().restarts).to.equal(3);
  });

  it('finding 2: a pipeline that ends in something else than messages is a NotAMessageError too', async () => {
    const { broker, transport } = setup();
    const app = createApp({ id: 'bad-end', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    // @ts-expect-error a pipeline must end in messages
    app.agent('ends-in-numbers', items, (item$) => item$.pipe(map((m) => m.value.id)), {
      errors: { retries: 0 },
    });
    await app.start();
    await send(app, 2);
    await waitForCommitted(app);
    await app.stop();
    expect(deadLetters(broker).map((d) => d.error)).to.have.length(2);
    expect(deadLetters(broker)[0]!.error).to.contain('the end of the pipeline received a number');
    expect(crashes.errors).to.deep.equal([]);
  });

  it('finding 3: a direct subscription is an agent; a throwing next() fails the message instead of committing it', async () => {
    const { broker, transport, handled, violations } = setup();
    const app = createApp({ id: 'direct', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    await send(app, 4);
    const seen: number[] = [];
    const subscription = items.pipe(map((m) => m.value.id)).subscribe((id) => {
      if (id === 1) throw new Error('cannot take 1');
      seen.push(id);
      handled.add('items', 0, id);
    });
    const agent = app.agents.find((a) => a.name === 'items.subscriber')!;
    expect(agent.group).to.equal('direct.items.subscriber');
    await waitFor(() => agent.stats().deadLettered === 1 && agent.stats().settled === 4, {
      timeoutMs: 15_000,
    });
    await waitForCommitted(app);
    expect(crashes.errors).to.deep.equal([]);
    // what was committed was handled by next() or dead-lettered (the audit knows only the former)
    expect(violations).to.deep.equal(['items/0: committed 4 before 1 was handled']);
    expect(seen).to.deep.equal([0, 2, 3]);
    expect(deadLetters(broker)).to.deep.include({ id: 1, error: 'cannot take 1', name: 'Error' });
    await app.stop();
    expect(agent.state).to.equal('stopped');
    subscription.unsubscribe();
  });

  it('finding 4: one throwing plain map does not stop the app: the message is dead-lettered, the pipeline restarts', async () => {
    const { broker, transport, handled, violations } = setup();
    const app = createApp({ id: 'throwing-map', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const done: number[] = [];
    const agent = app.agent(
      'picky',
      items,
      (item$) =>
        item$.pipe(
          map((m) => {
            if (m.value.id === 2) throw new Error('bad input');
            return m;
          }),
          tap((m) => {
            done.push(m.value.id);
            handled.add(m.topic, m.partition, m.offset);
          }),
        ),
      { errors: { retries: 1, backoff: { initialDelayMs: 1 } } },
    );
    await app.start();
    await send(app, 5);
    await waitForCommitted(app);
    expect(agent.state).to.equal('running');
    await app.stop();
    expect(app.failure).to.equal(undefined);
    expect([...new Set(done)].sort()).to.deep.equal([0, 1, 3, 4]);
    expect(deadLetters(broker)).to.deep.equal([{ id: 2, error: 'bad input', name: 'Error' }]);
    expect(agent.stats().restarts).to.equal(2); // the first attempt and its one retry
    // commits passed 2 only once it was dead-lettered (the audit counts only what the pipeline handled)
    expect(violations).to.deep.equal(['items/0: committed 5 before 2 was handled']);
  });

  it('finding 4: errors that keep coming spend the restart budget and fail the agent', async () => {
    const { transport } = setup();
    const app = createApp({ id: 'budget', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const agent = app.agent(
      'always-throws',
      items,
      (item$) =>
        item$.pipe(
          tap(() => {
            throw new Error('broken');
          }),
        ),
      { errors: { retries: 0 }, restarts: { max: 2, withinMs: 60_000 } },
    );
    await send(app, 5);
    const error = await app.run({ handleSignals: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AgentFailedError);
    expect((error as AgentFailedError).cause).to.be.instanceOf(RestartBudgetExceededError);
    expect(agent.state).to.equal('failed');
  });

  it("finding 4: with onAgentFailure 'continue', the other agents keep running", async () => {
    const { transport } = setup();
    const app = createApp({ id: 'keep-going', transport, logger: silentLogger, onAgentFailure: 'continue' });
    const items = app.topic<Item>('items', { value: json() });
    const failing = app.agent('first-two', items, (item$) => item$.pipe(take(2)));
    const healthy = app.agent('all', items, (item$) => item$.pipe(mapValue((v) => v.id)));
    await app.start();
    await send(app, 5);
    await waitFor(() => failing.state === 'failed' && healthy.stats().settled === 5);
    expect(healthy.state).to.equal('running');
    await app.stop();
    expect(app.failure).to.equal(undefined);
  });

  it('a pipeline that subscribes to its input twice gets every record in both subscriptions (issue 17: the input hands a record straight to a single subscriber only)', async () => {
    const { transport, handled, violations } = setup();
    const app = createApp({ id: 'twice', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const seen = { even: [] as number[], odd: [] as number[] };
    const agent = app.agent('split', items, (item$) =>
      merge(
        item$.pipe(filter((m) => m.value.id % 2 === 0)),
        item$.pipe(filter((m) => m.value.id % 2 === 1)),
      ).pipe(
        tap((m) => {
          seen[m.value.id % 2 === 0 ? 'even' : 'odd'].push(m.value.id);
          handled.add(m.topic, m.partition, m.offset);
        }),
      ),
    );
    await app.start();
    await send(app, 6);
    await waitFor(() => agent.stats().settled === 6);
    await waitForCommitted(app);
    await app.stop();
    expect(seen).to.deep.equal({ even: [0, 2, 4], odd: [1, 3, 5] });
    expect(violations).to.deep.equal([]);
  });

  it('finding 5: a pipeline that completes while the topic is open fails the agent, visibly', async () => {
    const { transport } = setup();
    const app = createApp({ id: 'take', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const agent = app.agent('first-two', items, (item$) => item$.pipe(take(2)));
    await send(app, 5);
    const error = await app.run({ handleSignals: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AgentFailedError);
    expect((error as AgentFailedError).cause).to.be.instanceOf(PipelineCompletedError);
    expect(agent.state).to.equal('failed');
    expect(agent.failure).to.equal(error);
  });

  it('finding 5: a pipeline function that throws fails the agent with AgentFailedError, state failed', async () => {
    const { transport } = setup();
    const app = createApp({ id: 'factory', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const agent = app.agent('broken', items, () => {
      throw new Error('cannot build');
    });
    const error = await app.run({ handleSignals: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AgentFailedError);
    expect((error as Error).message).to.contain('cannot build');
    expect(agent.state).to.equal('failed');
  });

  it('finding 6: one retry budget per message: sink attempts count, and an outage holds instead of dead-lettering', async () => {
    const { broker, transport } = setup();
    const app = createApp({ id: 'budget6', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    let writes = 0;
    let down = true;
    const agent = app.agent(
      'store',
      items,
      (item$) =>
        item$.pipe(
          sink(
            async () => {
              writes++;
              if (down) throw new Error('ECONNREFUSED');
            },
            { name: 'store-6', retry: { backoff: { initialDelayMs: 1, jitter: false } } },
          ),
        ),
      { errors: { retries: 2, backoff: { initialDelayMs: 2000, jitter: false } } },
    );
    await app.start();
    await send(app, 1);
    await waitFor(() => agent.stats().held === 1, { timeoutMs: 5000 });
    // retries 2 = 3 attempts in all, made inside the sink; the agent did not multiply them
    expect(writes).to.equal(3);
    expect(agent.stats().retried).to.equal(0);
    down = false;
    await waitForCommitted(app);
    await app.stop();
    expect(deadLetters(broker)).to.deep.equal([]);
    expect(agent.stats().held).to.equal(0);
  });

  it('finding 6: a message that fails while others are written is dead-lettered after its budget', async () => {
    const { broker, transport } = setup();
    const app = createApp({ id: 'poison', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const agent = app.agent(
      'store',
      items,
      (item$) =>
        item$.pipe(
          sink(
            async (batch: readonly Message<Item, string | null>[]) => {
              if (batch.some((m) => m.value.id === 3)) throw new Error('server rejects id 3');
            },
            { name: 'store-poison', maxBatchSize: 1, retry: { backoff: { initialDelayMs: 1 } } },
          ),
        ),
      { errors: { retries: 1, backoff: { initialDelayMs: 1 } } },
    );
    await app.start();
    await send(app, 6);
    await waitForCommitted(app);
    await app.stop();
    expect(deadLetters(broker).map((d) => d.id)).to.deep.equal([3]);
    expect(agent.stats().settled).to.equal(6);
  });
});
