import { Observable, type OperatorFunction, filter, map, share } from 'rxjs';
import { Ledger } from '../agent/ledger.js';
import type { Entry } from '../agent/partition-tracker.js';
import { LOCAL_SCOPE } from '../agent/partition-resources.js';
import { settleAtEnd } from '../core/ack.js';
import { Lineage, type LineageOwner } from '../core/lineage.js';
import { silentLogger } from '../core/logger.js';
import { LINEAGE, Message, createMessage, recordMessage } from '../core/message.js';
import { warnIfOtherRxjs } from './one-rxjs.js';

/**
 * A failure reported by a pipeline under test.
 *
 * @example
 * ```ts
 * const run = testPipeline(pipeline, of(1, -2, 3));
 * run.failed.subscribe(({ partition, offset, error }: TestFailure) => console.log(partition, offset, error));
 * ```
 */
export interface TestFailure {
  readonly partition: number;
  readonly offset: number;
  readonly error: unknown;
}

/**
 * Observables of one run of a pipeline under test; they share a single execution.
 *
 * @example
 * ```ts
 * const run: PipelineRun<Message<Order>> = testPipeline(pipeline, of(first, second));
 * run.committed.subscribe((offset) => console.log('committable:', offset));
 * ```
 */
export interface PipelineRun<U> {
  /** What the pipeline emitted. */
  readonly output: Observable<U>;
  /** Offsets of input messages as they settle (written, filtered on purpose…). */
  readonly settled: Observable<number>;
  /** Input messages handed to the error policy, and messages reused after their record settled. */
  readonly failed: Observable<TestFailure>;
  /** The offset rivulet could commit, each time it advances (the contiguous settled prefix). */
  readonly committed: Observable<number>;
}

type RunEvent<U> =
  | { readonly kind: 'output'; readonly value: U }
  | { readonly kind: 'settled'; readonly partition: number; readonly offset: number }
  | { readonly kind: 'committed'; readonly partition: number; readonly offset: number }
  | { readonly kind: 'failed'; readonly failure: TestFailure };

/**
 * Runs an agent pipeline with no broker: feeds it `input` (values, or messages made with
 * {@link testMessage}), settles what it emits as the agent would, and reports settlements, failures and
 * the committable offset as observables. Under RxJS `TestScheduler.run`, with clients that return cold
 * observables, everything happens in virtual time and can be asserted with marble diagrams. Its records
 * carry a binding of their own: the tables and windowed tables they update are local to the test (one
 * partition owning every key, no changelog), in whatever pipeline shape.
 *
 * @example
 * ```ts
 * scheduler.run(({ cold, expectObservable }) => {
 *   const run = testPipeline(pipeline, cold('a-b-c|', { a: 1, b: -2, c: 3 }));
 *   expectObservable(run.settled).toBe('a-b-c|', { a: 0, b: 1, c: 2 });
 * });
 * ```
 */
export function testPipeline<T, U, K = string | null>(
  pipeline: OperatorFunction<Message<T, K>, U>,
  input: Observable<T | Message<T, K>>,
  options: { readonly topic?: string } = {},
): PipelineRun<U> {
  const topic = options.topic ?? 'test';
  warnIfOtherRxjs(input); // two copies of rxjs: the app's TestScheduler would not reach our timers
  const events = new Observable<RunEvent<U>>((subscriber) => {
    // The agent's own ledger: the same settle and commit arithmetic, with no consumer to commit to.
    const ledger = new Ledger({
      agent: 'test',
      logger: silentLogger,
      maxInFlight: Number.MAX_SAFE_INTEGER,
      commitIntervalMs: 0,
      onAdvance: (tracker) => {
        subscriber.next({ kind: 'committed', partition: tracker.partition, offset: tracker.committable! });
      },
    });
    const nextOffset = new Map<number, number>();
    // A pipeline that completes while a record is pushed completes the run once the push let go of it.
    let pushing = false;
    let completed = false;
    const owner: LineageOwner = {
      accepting: true,
      // The binding under test: tables updated by the pipeline are local (one partition, every key).
      scope: LOCAL_SCOPE,
      onSettled(lineage) {
        const entry = lineage.token as Entry;
        if (!ledger.settle(entry)) return;
        subscriber.next({ kind: 'settled', partition: entry.tracker.partition, offset: entry.offset });
      },
      onFailed(lineage, error) {
        const entry = lineage.token as Entry;
        subscriber.next({
          kind: 'failed',
          failure: { partition: entry.tracker.partition, offset: entry.offset, error },
        });
      },
      // a reuse after the record was done: the agent logs it; a test sees it as a failure
      onReused(lineage, error) {
        this.onFailed(lineage, error);
      },
    };
    const wrapped = input.pipe(
      map((item) => {
        const init = item instanceof Message ? item : createMessage<T, K>({ topic, value: item as T });
        const partition = init.partition;
        const offset = item instanceof Message ? init.offset : (nextOffset.get(partition) ?? 0);
        nextOffset.set(partition, offset + 1);
        const record = { offset, key: null, value: null, headers: init.headers, timestamp: init.timestamp };
        const entry = ledger.admit(ledger.tracker({ topic, partition }), record, 0);
        const lineage = new Lineage(owner, entry);
        entry.lineage = lineage;
        return recordMessage(init.topic || topic, partition, record, init.key, init.value, lineage);
      }),
    );
    // As the agent does, the push holds a reference on its record until it returned.
    const pushed = new Observable<Message<T, K>>((inner) =>
      wrapped.subscribe({
        next(message) {
          const lineage = message[LINEAGE] as Lineage;
          lineage.retain();
          pushing = true;
          inner.next(message);
          pushing = false;
          lineage.release();
          if (completed) subscriber.complete();
        },
        error: (error: unknown) => inner.error(error),
        complete: () => inner.complete(),
      }),
    );
    return pipeline(pushed).subscribe({
      next(value) {
        subscriber.next({ kind: 'output', value });
        if (value instanceof Message) settleAtEnd(value);
        else if (Array.isArray(value))
          for (const item of value) if (item instanceof Message) settleAtEnd(item);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        if (pushing) completed = true;
        else subscriber.complete();
      },
    });
  }).pipe(share());

  return {
    output: events.pipe(
      filter((event) => event.kind === 'output'),
      map((event) => event.value),
    ),
    settled: events.pipe(
      filter((event) => event.kind === 'settled'),
      map((event) => event.offset),
    ),
    failed: events.pipe(
      filter((event) => event.kind === 'failed'),
      map((event) => event.failure),
    ),
    committed: events.pipe(
      filter((event) => event.kind === 'committed'),
      map((event) => event.offset),
    ),
  };
}

/**
 * A message to feed {@link testPipeline}, when the key, partition, offset or headers matter.
 *
 * @example
 * ```ts
 * cold('a-b|', { a: testMessage(order, { key: 'u1', offset: 10 }), b: testMessage(order, { offset: 11 }) });
 * ```
 */
export function testMessage<T, K = string | null>(
  value: T,
  init: Partial<Omit<Parameters<typeof createMessage<T, K>>[0], 'value'>> = {},
): Message<T, K> {
  return createMessage<T, K>({ ...init, value });
}
