import {
  Observable,
  type ObservableInput,
  type SchedulerLike,
  Subscription,
  asyncScheduler,
  defer,
} from 'rxjs';
import { failMessage } from '../core/ack.js';
import type { Message } from '../core/message.js';
import { type RetryPolicy, retryWithBackoff } from '../core/retry.js';
import { SinkError } from './sink-error.js';
import { emitSinkEvent } from './sink-events.js';

/**
 * What a sink accepts and emits: a message, or a batch of messages (from `bufferTime`, `bufferCount`…).
 *
 * @example
 * ```ts
 * const one: SinkInput<Order, string> = message; // a Message<Order, string>
 * const many: SinkInput<Order, string> = [message, next]; // a batch, e.g. from bufferTime
 * ```
 */
export type SinkInput<T = unknown, K = unknown> = Message<T, K> | readonly Message<T, K>[];

/**
 * Options of {@link sink}.
 *
 * @example
 * ```ts
 * const toPostgres = sink(writeRows, { name: 'postgres', concurrency: 2, maxBatchSize: 1000 });
 * ```
 */
export interface SinkOptions {
  /** Names the sink in errors and metrics. */
  readonly name: string;
  /** Writes in flight at once (default 1: later messages gather into the next write). */
  readonly concurrency?: number;
  /** Most messages in one write (default 500). */
  readonly maxBatchSize?: number;
  /** How a write is retried before its messages go to the agent's error policy (default 3 retries). */
  readonly retry?: RetryPolicy;
  /** Scheduler of retry delays (for virtual time in tests). */
  readonly scheduler?: SchedulerLike;
}

const size = (input: SinkInput): number => (Array.isArray(input) ? input.length : 1);

/**
 * Builds a sink operator from a function that writes a batch of messages. While a write is in flight,
 * arriving messages gather into the next one (up to `maxBatchSize`), so a sink batches by itself under
 * load and writes at once when idle. When a write succeeds, its inputs are emitted unchanged (the agent
 * then settles them); when it fails after retries, its messages go to the agent's error policy, all
 * together: a batch settles as a whole or not at all.
 *
 * @example
 * ```ts
 * const toPostgres = sink<Row, string>((batch) => db.insertMany(batch.map((m) => m.value)), { name: 'postgres' });
 * row$.pipe(bufferTime(100), toPostgres);
 * ```
 */
export function sink<T, K>(
  write: (batch: readonly Message<T, K>[]) => ObservableInput<unknown>,
  options: SinkOptions,
): <I extends SinkInput<T, K>>(source: Observable<I>) => Observable<I> {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const maxBatchSize = Math.max(1, options.maxBatchSize ?? 500);
  const scheduler = options.scheduler ?? asyncScheduler;

  return <I extends SinkInput<T, K>>(source: Observable<I>) =>
    new Observable<I>((subscriber) => {
      const queue: I[] = [];
      const writes = new Subscription();
      let active = 0;
      let sourceDone = false;

      const finishIfDone = (): void => {
        if (sourceDone && active === 0 && queue.length === 0) subscriber.complete();
      };

      const pump = (): void => {
        while (active < concurrency && queue.length > 0) {
          const batch: Message<T, K>[] = [];
          let taken = 0;
          while (
            taken < queue.length &&
            (batch.length === 0 || batch.length + size(queue[taken]!) <= maxBatchSize)
          ) {
            const unit = queue[taken++]!;
            if (Array.isArray(unit)) batch.push(...(unit as readonly Message<T, K>[]));
            else batch.push(unit as Message<T, K>);
          }
          const units = queue.splice(0, taken); // one splice per write: the queue can hold thousands
          active++;
          let attempts = 0;
          const started = scheduler.now();
          const done = (error?: unknown): void => {
            active--;
            const durationMs = scheduler.now() - started;
            emitSinkEvent({ sink: options.name, messages: batch.length, durationMs, attempts, error });
            if (error === undefined) for (const unit of units) subscriber.next(unit);
            else {
              const failure = new SinkError(options.name, attempts, error);
              for (const message of batch) failMessage(message, failure);
            }
            pump();
            finishIfDone();
          };
          const subscription = defer(() => {
            attempts++;
            return write(batch);
          })
            .pipe(retryWithBackoff(options.retry, scheduler))
            .subscribe({ error: (error: unknown) => done(error), complete: () => done() });
          writes.add(subscription);
        }
      };

      const upstream = source.subscribe({
        next: (unit) => {
          if (size(unit) === 0) return;
          queue.push(unit);
          pump();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          finishIfDone();
        },
      });
      return () => {
        upstream.unsubscribe();
        writes.unsubscribe();
      };
    });
}
