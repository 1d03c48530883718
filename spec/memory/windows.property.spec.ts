import { expect } from 'chai';
import fc from 'fast-check';
import {
  DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  aggregateWindows,
  collect,
  createApp,
  defaultLogger,
  hopping,
  json,
  partitionForKey,
  silentLogger,
  sink,
  sliding,
  tumbling,
  type App,
  type ConsumerHandlers,
  type ConsumerOptions,
  type TopicPartition,
  type TransportConsumer,
  type WindowSpec,
  type WindowTable,
} from '../../lib/index.js';
import { type SchedulerLike, VirtualTimeScheduler, tap } from 'rxjs';
import { committedToEnd, waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { type ModelEvent, type ModelWindow, referenceOutcome, windowId } from './windows-reference.js';
import { type ChaosOptions, ChaosTransport } from '../support/chaos-transport.js';

/** An event on the wire: its id and event time (the key is the record's key). */
interface Event {
  readonly id: number;
  readonly t: number;
}

/**
 * A killable worker link (see ChaosTransport: writes of a dead worker vanish) that also tells which
 * partitions of the input the worker owns, and when they move.
 */
class TrackedTransport extends ChaosTransport {
  constructor(
    broker: MemoryBroker,
    chaos: ChaosOptions,
    /** Partitions of the input given to or taken from this worker (a rebalance, a stop). */
    private readonly moved: (partitions: readonly number[]) => void,
  ) {
    super(broker, chaos);
  }

  /** Partitions of the input this worker owns: from their assignment to the end of their revocation. */
  readonly owned = new Set<number>();

  override consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<TransportConsumer> {
    const inputs = (partitions: readonly TopicPartition[]): number[] =>
      partitions.filter(({ topic }) => topic === TOPIC).map(({ partition }) => partition);
    return super.consume(options, {
      ...handlers,
      onAssigned: (partitions) => {
        for (const partition of inputs(partitions)) this.owned.add(partition);
        this.moved(inputs(partitions));
        handlers.onAssigned?.(partitions);
      },
      onRevoked: async (partitions) => {
        await handlers.onRevoked?.(partitions); // what it emits meanwhile is still its own
        for (const partition of inputs(partitions)) this.owned.delete(partition);
        this.moved(inputs(partitions));
      },
    });
  }
}

/**
 * One final result the sink wrote: which worker wrote it, how many times its partition had changed
 * hands (been assigned or revoked anywhere) when the window table emitted it, and whether the worker
 * owned that partition then.
 */
interface Write {
  readonly id: string;
  readonly value: readonly number[];
  readonly final: boolean;
  readonly worker: number;
  readonly owners: number;
  readonly stale: boolean;
}

interface Worker {
  readonly id: number;
  readonly app: App;
  readonly transport: TrackedTransport;
  readonly windows: WindowTable<string, Event, number[]>;
  readonly shutdownTimeoutMs: { value: number };
}

const BASE_TIME = 1_000_000;
/** Far ahead of every drawn event time: a flush event closes every drawn window by the watermark. */
const FLUSH_TIME = 2_000_000_000;
const APP_ID = 'wprop';
const TOPIC = 'events';
const DEAD_LETTERS = `${TOPIC}.dlq`;

const windowSpec: fc.Arbitrary<ModelWindow> = fc.oneof(
  fc.integer({ min: 3, max: 40 }).map((size) => ({ kind: 'tumbling' as const, size, step: size })),
  fc
    .integer({ min: 4, max: 40 })
    .chain((size) =>
      fc
        .integer({ min: Math.ceil(size / 4), max: size })
        .map((step) => ({ kind: 'hopping' as const, size, step })),
    ),
  fc.integer({ min: 3, max: 40 }).map((size) => ({ kind: 'sliding' as const, size, step: 1 })),
);

/** How an event's time relates to the highest time drawn so far in its partition. */
const eventDraw = fc.record({
  key: fc.nat(4),
  // 0-2: ahead, 3-5: behind but within the grace, 6-7: behind by more than the grace (maybe late)
  mode: fc.integer({ min: 0, max: 7 }),
  by: fc.nat(80),
});

const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('produce' as const), count: fc.integer({ min: 1, max: 20 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('start' as const), slot: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('kill' as const), slot: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stop' as const),
      slot: fc.integer({ min: 0, max: 1 }),
      timeoutMs: fc.integer({ min: 0, max: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 15 }) }),
  },
);

const scenario = fc.record({
  window: windowSpec,
  grace: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
  partitions: fc.integer({ min: 2, max: 3 }),
  keys: fc.integer({ min: 1, max: 5 }),
  events: fc.array(eventDraw, { minLength: 1, maxLength: 60 }),
  batchSize: fc.integer({ min: 1, max: 20 }),
  delayMs: fc.integer({ min: 0, max: 3 }),
  refusals: fc.integer({ min: 0, max: 2 }),
  /** A window's first write attempt fails when the hash of its id modulo this is 0 (0: never). */
  failEvery: fc.constantFrom(0, 0, 2, 3, 5),
  // a worker runs from the start: most runs crash one that holds state
  steps: fc
    .array(step, { minLength: 1, maxLength: 12 })
    .map((steps) => [{ kind: 'start' as const, slot: 0 }, ...steps]),
  /** How the workers of the run end before the closing worker starts. */
  killAtEnd: fc.boolean(),
  /** Whether a flush event per partition ends the input (else the closing worker closes all by idleness). */
  flush: fc.boolean(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

function librarySpec(window: ModelWindow): WindowSpec {
  if (window.kind === 'tumbling') return tumbling(window.size);
  if (window.kind === 'hopping') return hopping(window.size, window.step);
  return sliding(window.size);
}

function hash(text: string): number {
  let h = 0;
  for (const char of text) h = (Math.imul(h, 31) + char.charCodeAt(0)) | 0;
  return h >>> 0;
}

/** A key of each partition, for the flush events. */
function flushKeys(partitions: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.filter(Boolean).length < partitions; i++) {
    const key = `flush-${i}`;
    keys[partitionForKey(Buffer.from(key), partitions)] ??= key;
    if (i > 10_000) throw new Error('no flush key for every partition');
  }
  return keys;
}

/** The drawn events with their keys, partitions and times. */
function materialize(s: Scenario): { key: string; partition: number; event: Event }[] {
  const highest: number[] = Array.from({ length: s.partitions }, () => BASE_TIME);
  return s.events.map((draw, id) => {
    const key = `k${draw.key % s.keys}`;
    const partition = partitionForKey(Buffer.from(key), s.partitions);
    const top = highest[partition]!;
    let t: number;
    if (draw.mode <= 2) t = top + (draw.by % (2 * s.window.size + 1));
    else if (draw.mode <= 5) t = top - (draw.by % (s.grace + 1));
    else t = top - s.grace - 1 - (draw.by % (2 * s.window.size));
    highest[partition] = Math.max(top, t);
    return { key, partition, event: { id, t } };
  });
}

interface RunReport {
  readonly windows: number;
  readonly late: number;
  readonly duplicates: number;
  readonly lateDuplicates: number;
  readonly crashes: number;
}

const reports: RunReport[] = [];

/** Runs one scenario end to end and checks it against the reference. */
async function runScenario(s: Scenario): Promise<void> {
  const began = Date.now();
  const debug = Boolean(process.env.DEBUG_WINDOWS);
  const broker = new MemoryBroker({ defaultPartitions: s.partitions });
  broker.createTopic(TOPIC, s.partitions);
  const drawn = materialize(s);
  const flush = !s.flush
    ? []
    : flushKeys(s.partitions).map((key, partition) => ({
        key,
        partition,
        event: { id: drawn.length + partition, t: FLUSH_TIME },
      }));
  const all = [...drawn, ...flush];
  const arrival: ModelEvent[][] = Array.from({ length: s.partitions }, () => []);
  const writes: Write[] = [];
  const failedOnce = new Set<string>();
  const slots: (Worker | undefined)[] = [undefined, undefined];
  const workers: Worker[] = [];
  let produced = 0;
  /** Per partition of the input: how many times it was assigned or revoked so far. */
  const owners: number[] = Array.from({ length: s.partitions }, () => 0);
  const emittedWhen = new WeakMap<object, { owners: number; stale: boolean }>();
  let crashes = 0;

  const startWorker = async (closer: boolean): Promise<Worker> => {
    const id = workers.length + 1;
    const transport = new TrackedTransport(
      broker,
      { batchSize: s.batchSize, delayMs: s.delayMs, refusals: closer ? 0 : s.refusals, vanishWhenDead: true },
      (moved) => {
        for (const partition of moved) owners[partition]!++;
      },
    );
    const shutdownTimeoutMs = { value: 2000 };
    const app = createApp({
      id: APP_ID,
      transport,
      logger: debug ? defaultLogger(`w${id}`) : silentLogger,
      get shutdownTimeoutMs() {
        return shutdownTimeoutMs.value;
      },
    });
    const events = app.topic<Event>(TOPIC, { value: json(), partitions: s.partitions });
    const windows = app.windowTable<Event, number[]>('windows', {
      window: librarySpec(s.window),
      aggregate: collect((event: Event) => event.id),
      graceMs: s.grace,
      // Workers of the run are never idle long enough to close by the wall clock: the model's
      // watermark is event time only. The closing worker is, once it has caught up: every window closes.
      idleAfterMs: closer ? 20 : 3_600_000,
    });
    app.agent(
      'aggregate',
      events,
      (event$) =>
        event$.pipe(
          aggregateWindows(windows, { time: (message) => message.value.t }),
          tap((message) => {
            const at = owners[message.partition]!;
            emittedWhen.set(message, { owners: at, stale: !transport.owned.has(message.partition) });
          }),
          sink(
            (batch) => {
              if (transport.dead) throw new Error('the process is dead');
              for (const { value: result } of batch) {
                const window = windowId(result.key, result.start, result.end);
                if (s.failEvery > 0 && hash(window) % s.failEvery === 0 && !failedOnce.has(window)) {
                  failedOnce.add(window);
                  throw new Error(`the first write of ${window} fails (injected)`);
                }
              }
              for (const message of batch) {
                const result = message.value;
                writes.push({
                  id: windowId(result.key, result.start, result.end),
                  value: result.value,
                  final: result.final,
                  worker: id,
                  owners: emittedWhen.get(message)?.owners ?? -1,
                  stale: emittedWhen.get(message)?.stale ?? true,
                });
              }
              return Promise.resolve();
            },
            { name: `window-results-w${id}`, retry: { retries: 0 } },
          ),
        ),
      {
        commitIntervalMs: 1,
        stallTimeoutMs: 0,
        errors: { retries: 1000, backoff: { initialDelayMs: 1, maxDelayMs: 10 } },
      },
    );
    await app.start();
    const worker = { id, app, transport, windows, shutdownTimeoutMs };
    workers.push(worker);
    return worker;
  };

  const produce = (count: number): void => {
    const batch = all.slice(produced, produced + count);
    produced += batch.length;
    if (batch.length === 0) return;
    const metadata = broker.produce(
      batch.map(({ key, event }) => ({
        topic: TOPIC,
        key: Buffer.from(key),
        value: Buffer.from(JSON.stringify(event)),
      })),
    );
    batch.forEach(({ key, partition, event }, i) => {
      expect(metadata[i]!.partition).to.equal(partition);
      arrival[partition]!.push({ id: event.id, key, t: event.t });
    });
  };

  const end = async (worker: Worker, how: 'kill' | 'stop', timeoutMs = 2000): Promise<void> => {
    crashes++;
    if (how === 'kill') await worker.transport.kill();
    else {
      worker.shutdownTimeoutMs.value = timeoutMs; // what is not settled by then is left behind
      await worker.app.stop();
    }
  };

  try {
    for (const action of s.steps) {
      if (debug) console.error(action);
      if (action.kind === 'produce') produce(Math.min(action.count, drawn.length - produced));
      else if (action.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, action.ms));
      else if (action.kind === 'start') {
        if (slots[action.slot]) continue;
        slots[action.slot] = await startWorker(false);
      } else {
        const worker = slots[action.slot];
        slots[action.slot] = undefined;
        if (worker) await end(worker, action.kind, action.kind === 'stop' ? action.timeoutMs : 2000);
      }
    }
    // The rest of the events, then one far ahead per partition: every drawn window closes by the
    // watermark. The workers of the run go; a closing worker, whose wall clock is ahead of every event
    // time, closes the windows of the far events once idle.
    produce(all.length - produced);
    for (const [slot, worker] of slots.entries()) {
      slots[slot] = undefined;
      if (worker) await end(worker, s.killAtEnd ? 'kill' : 'stop');
    }
    const closer = await startWorker(true);
    const expected = referenceOutcome(s.window, s.grace, arrival);
    /** What the window table still holds, per key (`not ready` for a partition not restored here). */
    const leftovers = (): string[] =>
      Array.from({ length: s.partitions }, (_, partition) => {
        const table = closer.windows.table;
        if (!table.isReady(partition)) return [`partition ${partition} not ready`];
        return table
          .keys(partition, { limit: 1000 })
          .keys.map((key) => `${key}: ${JSON.stringify(table.get(key))}`);
      }).flat();
    const written = (): Set<string> => new Set(writes.map((write) => write.id));
    let stuck: unknown;
    await waitFor(
      async () =>
        [...expected.windows.keys()].every((id) => written().has(id)) &&
        leftovers().length === 0 &&
        closer.windows.stats().pending === 0 &&
        (await committedToEnd(closer.transport, `${APP_ID}.aggregate`, TOPIC)),
      { timeoutMs: 8000, description: 'every window closed, written and deleted' },
    ).catch((error: unknown) => {
      if (debug) {
        const changelog = `${APP_ID}-windows-changelog`;
        console.error('STUCK', closer.windows.stats(), closer.app.agents[0]!.stats());
        for (const { partition, offset } of broker.endOffsets(changelog))
          for (const r of broker.read(changelog, partition, 0, offset))
            console.error(partition, r.key?.toString(), r.value?.toString(), JSON.stringify(r.headers));
      }
      if (!(error instanceof Error && error.name === 'WaitTimeoutError')) throw error;
      stuck = error; // the assertions below say what is missing, if they can
    });

    expect(
      writes.filter((write) => !write.final),
      'results not final',
    ).to.deep.equal([]);
    // (1) and (2): the final results are the reference's, window for window, value for value.
    const byWindow = new Map<string, Write[]>();
    for (const write of writes) byWindow.set(write.id, [...(byWindow.get(write.id) ?? []), write]);
    const actual = Object.fromEntries([...byWindow].map(([id, list]) => [id, list[0]!.value]).sort());
    const wanted = Object.fromEntries([...expected.windows].sort());
    expect(actual, 'the first final result of each window').to.deep.equal(wanted);

    // (3) A window is written again only when emitted again after its partition changed hands (a
    // crash, a stop or a rebalance came between the first emit and the durable deletion of its window,
    // else the new owner would not have it), and always with the same value. A worker emits only for
    // partitions it owns.
    let duplicates = 0;
    const stale = writes.filter((write) => write.stale);
    expect(
      stale.map((write) => `${write.id} by worker ${write.worker}`),
      'results emitted by a worker not owning their partition',
    ).to.deep.equal([]);
    for (const [id, list] of byWindow) {
      duplicates += list.length - 1;
      const emits = list.map(
        (write) => `by worker ${write.worker} after ${write.owners} moves${write.stale ? ' (stale)' : ''}`,
      );
      const byEmit = new Map<number, Write[]>();
      for (const write of list.filter((w) => !w.stale))
        byEmit.set(write.owners, [...(byEmit.get(write.owners) ?? []), write]);
      for (const same of byEmit.values())
        if (same.length > 1) expect.fail(`${id} written twice for one emit: ${emits.join(', ')}`);
      for (const write of list) expect(write.value, `${id} written again`).to.deep.equal(list[0]!.value);
    }

    // (4) Every late event is dead-lettered (at least once), as a LateRecordError, and in no window;
    // nothing else is dead-lettered.
    const lateIds = [...expected.late];
    const deadLettered = new Map<number, number>();
    for (const { partition, offset } of broker.endOffsets(DEAD_LETTERS)) {
      for (const record of broker.read(DEAD_LETTERS, partition, 0, offset)) {
        const event = JSON.parse(record.value!.toString()) as Event;
        expect(record.headers[DEAD_LETTER_HEADERS.errorName], `dead letter of event ${event.id}`).to.equal(
          'LateRecordError',
        );
        deadLettered.set(event.id, (deadLettered.get(event.id) ?? 0) + 1);
      }
    }
    expect(
      [...deadLettered.keys()].sort((a, b) => a - b),
      'the dead-lettered events',
    ).to.deep.equal(lateIds.sort((a, b) => a - b));
    const inWindows = new Set(writes.flatMap((write) => write.value));
    for (const id of lateIds) expect(inWindows.has(id), `late event ${id} in a window`).to.equal(false);
    const lateDuplicates = [...deadLettered.values()].reduce((sum, n) => sum + n - 1, 0);

    // (5) Every window expired: the table is empty, nothing waits to settle.
    expect(leftovers(), 'left in the window table').to.deep.equal([]);
    expect(closer.windows.stats().pending, 'final results not settled').to.equal(0);
    expect(
      await committedToEnd(closer.transport, `${APP_ID}.aggregate`, TOPIC),
      'every event committed',
    ).to.equal(true);
    if (stuck) throw stuck;

    reports.push({
      windows: expected.windows.size,
      late: lateIds.length,
      duplicates,
      lateDuplicates,
      crashes,
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.app.stop()));
    if (process.env.WINDOW_STATS && Date.now() - began > 1000)
      console.error(`slow run: ${Date.now() - began} ms`, JSON.stringify(s));
  }
}

describe('windows, regressions the property found (memory broker)', () => {
  // Once a sliding key's last window is deleted, its events wait for a later watermark to expire; the
  // property found that nothing armed the idle closer for them, so with no new record the key stayed in
  // the table for good (shrunk: one event, closed by idleness). Fixed: scheduling an expiry arms it.
  it('a sliding key idle after its last window closed is deleted (its events expire with no new record)', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const app = createApp({ id: 'wreg', transport: new MemoryTransport(broker), logger: silentLogger });
    const events = app.topic<Event>(TOPIC, { value: json(), partitions: 1 });
    const windows = app.windowTable<Event, number[]>('windows', {
      window: sliding(30),
      aggregate: collect((event: Event) => event.id),
      idleAfterMs: 20,
    });
    const results: string[] = [];
    app.agent('aggregate', events, (event$) =>
      event$.pipe(
        aggregateWindows(windows, { time: (message) => message.value.t }),
        sink(
          (batch) => {
            for (const { value: r } of batch)
              results.push(`${r.key} [${r.start}, ${r.end}) ${r.value.join()}`);
            return Promise.resolve();
          },
          { name: 'window-results' },
        ),
      ),
    );
    try {
      await app.start();
      await events.send({ id: 0, t: BASE_TIME }, { key: 'a' });
      await waitFor(() => results.length === 1, { timeoutMs: 5000, description: 'the final result' });
      expect(results).to.deep.equal([`a [${BASE_TIME - 29}, ${BASE_TIME + 1}) 0`]);
      // The event expires once event time passes BASE_TIME + 30: 30 ms more of idleness.
      await waitFor(() => windows.table.keys(0).keys.length === 0, {
        timeoutMs: 2000,
        description: 'the key deleted',
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}; the table holds ${JSON.stringify(windows.table.get('a'))}`);
      });
    } finally {
      await app.stop();
    }
  });

  // BUG: a final result whose write failed waits for its retry on the worker's scheduler; when its
  // partition moves to another worker meanwhile, the new owner emits it (it is still in the table) and
  // the old owner's retry emits it too: WindowResults.#later re-emits without checking that the result
  // is still its partition's here. Found by the property below (a duplicate written by one worker with
  // no crash after the first write). Unskip once the retry checks
  // `host.part(result.partition)?.results.get(result.id) === result` before emitting.
  it('a final result waiting to be retried is not emitted again once its partition moved to another worker', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 2 });
    // the second member of the group gets partition 1
    let key = 'k0';
    for (let i = 0; partitionForKey(Buffer.from(key), 2) !== 1; i++) key = `k${i}`;
    const writes: string[] = [];
    const worker = (name: string, scheduler: SchedulerLike, failFirst: boolean) => {
      const app = createApp({ id: 'wmove', transport: new MemoryTransport(broker), logger: silentLogger });
      const events = app.topic<Event>(TOPIC, { value: json(), partitions: 2 });
      const windows = app.windowTable<Event, number[]>('windows', {
        window: tumbling(10),
        aggregate: collect((event: Event) => event.id),
        idleAfterMs: 3_600_000,
      });
      let failed = !failFirst;
      const attempts: string[] = [];
      app.agent(
        'aggregate',
        events,
        (event$) =>
          event$.pipe(
            aggregateWindows(windows, { time: (message) => message.value.t, scheduler }),
            sink(
              (batch) => {
                attempts.push(...batch.map(({ value: r }) => `${r.key} [${r.start}, ${r.end})`));
                if (!failed) {
                  failed = true;
                  throw new Error('the first write fails (injected)');
                }
                writes.push(
                  ...batch.map(
                    ({ value: r }) => `${name}: ${r.key} [${r.start}, ${r.end}) ${r.value.join()}`,
                  ),
                );
                return Promise.resolve();
              },
              { name: `window-results-${name}`, retry: { retries: 0 } },
            ),
          ),
        { commitIntervalMs: 1, errors: { retries: 5 } },
      );
      return { app, events, windows, attempts };
    };
    const held = new VirtualTimeScheduler(); // A's retries wait until the test flushes them
    const a = worker('A', held, true);
    const b = worker('B', new VirtualTimeScheduler(), false);
    try {
      await a.app.start();
      await a.events.send({ id: 0, t: 1000 }, { key });
      await a.events.send({ id: 1, t: 2000 }, { key }); // closes [1000, 1010) on A
      await waitFor(() => a.attempts.length === 1, { timeoutMs: 5000, description: "A's failed write" });
      await b.app.start(); // partition 1 moves to B, with [1000, 1010) still in the table
      await waitFor(() => writes.length === 1, { timeoutMs: 5000, description: "B's write" });
      expect(writes).to.deep.equal([`B: ${key} [1000, 1010) 0`]);
      await waitFor(() => b.windows.get(key).length === 1, {
        timeoutMs: 5000,
        description: 'the window deleted',
      });
      held.flush(); // A's retry comes due
      expect(a.windows.stats().emitted, 'emits by A').to.equal(1);
      await waitForCommitted(b.app);
      expect(writes).to.deep.equal([`B: ${key} [1000, 1010) 0`]);
    } finally {
      await Promise.all([a.app.stop(), b.app.stop()]);
    }
  });
});

describe('windows, property-based (memory broker)', function () {
  this.timeout(120_000);

  after(() => {
    if (reports.length === 0 || !process.env.WINDOW_STATS) return;
    const total = (field: keyof RunReport): number => reports.reduce((sum, r) => sum + r[field], 0);
    console.error(
      `windows property: ${reports.length} runs, ${total('windows')} windows, ${total('late')} late events, ` +
        `${total('crashes')} worker ends, ${total('duplicates')} final results written again across a crash, ` +
        `${total('lateDuplicates')} late events dead-lettered again`,
    );
  });

  // RUNS, SEED, FC_PATH, SCENARIO, NO_SHRINK, DEBUG_WINDOWS and WINDOW_STATS help reproduce a failure
  // and count duplicates.
  if (process.env.SCENARIO)
    it('the scenario in SCENARIO (JSON, as a counterexample prints it)', async () => {
      await runScenario(JSON.parse(process.env.SCENARIO!) as Scenario);
    });

  it('after random event times, crashes, stops and rebalances, each window has its reference result once (again only across a crash), late events are dead-lettered, and the table empties', async () => {
    await fc.assert(fc.asyncProperty(scenario, runScenario), {
      numRuns: Number(process.env.RUNS ?? 100),
      interruptAfterTimeLimit: 90_000, // a slow shrink still reports its counterexample before the test's timeout
      endOnFailure: Boolean(process.env.DEBUG_WINDOWS ?? process.env.NO_SHRINK),
      ...(process.env.SEED ? { seed: Number(process.env.SEED), path: process.env.FC_PATH } : {}),
    });
  });
});
