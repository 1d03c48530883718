import { Observable, type OperatorFunction, filter, map, share } from 'rxjs';
import { settleMessage } from '../core/ack.js';
import { Lineage, type LineageOwner } from '../core/lineage.js';
import { Message, createMessage } from '../core/message.js';
import { PartitionTracker, type Entry } from '../agent/partition-tracker.js';

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
  /** Input messages handed to the error policy. */
  readonly failed: Observable<TestFailure>;
  /** The offset rivulet could commit, each time it advances (the contiguous settled prefix). */
  readonly committed: Observable<number>;
}

type RunEvent<U> =
  | { readonly kind: 'output'; readonly value: U }
  | {
      readonly kind: 'settled';
      readonly partition: number;
      readonly offset: number;
      readonly committable: number | undefined;
      readonly advanced: boolean;
    }
  | { readonly kind: 'failed'; readonly failure: TestFailure };

/**
 * Runs an agent pipeline with no broker: feeds it `input` (values, or messages made with
 * {@link testMessage}), settles what it emits as the agent would, and reports settlements, failures and
 * the committable offset as observables. Under RxJS `TestScheduler.run`, with clients that return cold
 * observables, everything happens in virtual time and can be asserted with marble diagrams.
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
  const events = new Observable<RunEvent<U>>((subscriber) => {
    const trackers = new Map<number, PartitionTracker>();
    const nextOffset = new Map<number, number>();
    const owner: LineageOwner = {
      onSettled(lineage) {
        const entry = lineage.token as Entry;
        const tracker = entry.tracker;
        const advanced = tracker.settle(entry) > 0;
        subscriber.next({
          kind: 'settled',
          partition: tracker.partition,
          offset: entry.offset,
          committable: tracker.committable,
          advanced,
        });
      },
      onFailed(lineage, error) {
        const entry = lineage.token as Entry;
        subscriber.next({
          kind: 'failed',
          failure: { partition: entry.tracker.partition, offset: entry.offset, error },
        });
      },
    };
    const wrapped = input.pipe(
      map((item) => {
        const init = item instanceof Message ? item : createMessage<T, K>({ topic, value: item as T });
        const partition = init.partition;
        const offset = item instanceof Message ? init.offset : (nextOffset.get(partition) ?? 0);
        nextOffset.set(partition, offset + 1);
        let tracker = trackers.get(partition);
        if (!tracker) trackers.set(partition, (tracker = new PartitionTracker(topic, partition)));
        const record = { offset, key: null, value: null, headers: init.headers, timestamp: init.timestamp };
        const entry = tracker.add(record, 0, undefined);
        return new Message<T, K>(
          init.topic || topic,
          partition,
          offset,
          init.key,
          init.value,
          init.headers,
          init.timestamp,
          new Lineage(owner, entry),
        );
      }),
    );
    return pipeline(wrapped).subscribe({
      next(value) {
        subscriber.next({ kind: 'output', value });
        if (value instanceof Message) settleMessage(value);
        else if (Array.isArray(value))
          for (const item of value) if (item instanceof Message) settleMessage(item);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
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
      filter((event) => event.kind === 'settled' && event.advanced),
      map((event) => (event as { committable: number }).committable),
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
