import {
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  Subscription,
  asyncScheduler,
  defer,
  from,
  tap,
  throwError,
  timeout,
} from 'rxjs';
import { attemptsLeft, claimMessage, failMessage, isAccepted, releaseMessage } from '../core/ack.js';
import { Message } from '../core/message.js';
import { type RetryPolicy, retryWithBackoff } from '../core/retry.js';
import { sinkHealthOf } from '../core/sink-health.js';
import { operateMessages } from '../core/operate-messages.js';
import { SinkError, SinkTimeoutError } from './sink-error.js';
import type { SinkMessage } from './sink-message.js';

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
  /**
   * How a write is retried in place before its messages go back to the agent (default 3 retries, never
   * more than the messages' agent still allows: attempts made here count against each message's retry
   * budget, see the agent's `errors.retries`).
   */
  readonly retry?: RetryPolicy;
  /**
   * Longest time one attempt of a write may take before it counts as failed (a retriable
   * `SinkTimeoutError`), in ms (default 30 000; 0 waits forever). A client that queues while its server is
   * down would otherwise hold the write, and the agent, indefinitely.
   */
  readonly timeoutMs?: number;
  /**
   * Scheduler of retry delays and attempt timeouts. `TestScheduler.run` makes the default virtual; for
   * frames that repeat run after run, fix the jitter too (`retry: { backoff: { random: () => 0.5 } }`).
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

const size = (input: SinkInput): number => (Array.isArray(input) ? input.length : 1);

/**
 * Builds a sink operator from a function that writes a batch of messages. While a write is in flight,
 * arriving messages gather into the next one (up to `maxBatchSize`), so a sink batches by itself under
 * load and writes at once when idle. When a write succeeds, its inputs are emitted unchanged (the agent
 * then settles them); when it fails after retries, its messages go to the agent's error policy, all
 * together: a batch settles as a whole or not at all. Every attempt updates the sink's health in the
 * app of the agent whose messages it writes (`app.sinkHealth()`, per agent and sink name): a sink whose
 * server is down shows as failing, and that agent pauses instead of dead-lettering. Once the agent
 * stops, writes not yet started are abandoned (their records stay uncommitted and are delivered again).
 *
 * The message type is inferred from the pipeline, as with the other sinks.
 *
 * @example
 * ```ts
 * row$.pipe(
 *   bufferTime(100),
 *   sink((batch) => db.insertMany(batch.map((m) => m.value)), { name: 'postgres' }),
 * );
 * ```
 */
export function sink<I extends SinkInput<unknown, unknown>>(
  write: (batch: readonly SinkMessage<NoInfer<I>>[]) => ObservableInput<unknown>,
  options: SinkOptions,
): OperatorFunction<I, I>;
/**
 * A sink for messages of a given value and key type, usable in any pipeline of such messages.
 *
 * @example
 * ```ts
 * const toPostgres = sink<Row, string>((batch) => db.insertMany(batch.map((m) => m.value)), { name: 'postgres' });
 * ```
 */
export function sink<T, K>(
  write: (batch: readonly Message<T, K>[]) => ObservableInput<unknown>,
  options: SinkOptions,
): <I extends SinkInput<T, K>>(source: Observable<I>) => Observable<I>;
export function sink(
  write: (batch: readonly Message<unknown, unknown>[]) => ObservableInput<unknown>,
  options: SinkOptions,
): OperatorFunction<SinkInput, SinkInput> {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const maxBatchSize = Math.max(1, options.maxBatchSize ?? 500);
  const scheduler = options.scheduler ?? asyncScheduler;
  const name = options.name;
  const retries = options.retry?.retries ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;

  return operateMessages<SinkInput, SinkInput, SinkInput>(
    `sink ${name}`,
    (subscriber, run) => {
      const queue: SinkInput[] = [];
      const writes = new Subscription();
      let active = 0;

      const pump = (): void => {
        // Once an agent stops, what no write has taken yet is left unsettled (delivered again later).
        while (queue.length > 0 && !accepted(queue[0]!)) queue.shift();
        while (active < concurrency && queue.length > 0) {
          const batch: Message<unknown, unknown>[] = [];
          let taken = 0;
          while (
            taken < queue.length &&
            (batch.length === 0 || batch.length + size(queue[taken]!) <= maxBatchSize)
          ) {
            const unit = queue[taken++]!;
            if (Array.isArray(unit)) batch.push(...(unit as readonly Message<unknown, unknown>[]));
            else batch.push(unit as Message<unknown, unknown>);
          }
          const units = queue.splice(0, taken); // one splice per write: the queue can hold thousands
          active++;
          let attempts = 0;
          const started = scheduler.now();
          const health = sinkHealthOf(batch); // the app of the agent(s) whose messages these are
          const done = (error?: unknown): void => {
            active--;
            const durationMs = scheduler.now() - started;
            for (const report of health)
              report.wrote({ sink: name, messages: batch.length, durationMs, attempts, error });
            if (error === undefined) {
              for (const message of batch) releaseMessage(message);
              for (const unit of units) run.emit(unit);
            } else {
              const failure = sinkError(name, attempts, error);
              for (const message of batch) failMessage(message, failure);
            }
            pump();
            run.completeIfIdle();
          };
          const policy = { ...options.retry, retries: budget(batch, retries) };
          const subscription = defer(() => {
            attempts++;
            const attempt = from(write(batch));
            return timeoutMs > 0
              ? attempt.pipe(
                  timeout({
                    first: timeoutMs,
                    scheduler,
                    with: () => throwError(() => new SinkTimeoutError(name, timeoutMs)),
                  }),
                )
              : attempt;
          })
            .pipe(
              tap({ error: (error: unknown) => health.forEach((report) => report.failed(name, error)) }),
              retryWithBackoff(policy, scheduler),
            )
            .subscribe({ error: (error: unknown) => done(error), complete: () => done() });
          writes.add(subscription);
        }
      };

      return {
        next: (unit) => {
          queue.push(unit);
          pump();
        },
        busy: () => active > 0 || queue.length > 0,
        teardown: () => writes.unsubscribe(),
      };
    },
    { claim: claimUnit(name), defers: true },
  );
}

/**
 * How the sink `name` claims a unit: every message of it, or none (a batch with an unusable message
 * fails all of its messages). An empty batch is dropped.
 */
function claimUnit(
  name: string,
): (unit: SinkInput, where: string, subscriber: { error(error: unknown): void }) => SinkInput | undefined {
  return (unit, where, subscriber) => {
    if (!Array.isArray(unit))
      return claimMessage(unit as Message<unknown, unknown>, where, subscriber) === undefined
        ? undefined
        : unit;
    if (unit.length === 0) return undefined;
    let all = true;
    for (const item of unit as readonly unknown[]) {
      if (claimMessage(item as Message<unknown, unknown>, where, subscriber) === undefined) all = false;
    }
    if (all) return unit;
    for (const item of unit as readonly unknown[])
      if (item instanceof Message)
        failMessage(item, new SinkError(name, 0, 'a message of its batch was unusable'));
    return undefined;
  };
}

function accepted(unit: SinkInput): boolean {
  const first = Array.isArray(unit)
    ? (unit as readonly Message<unknown, unknown>[])[0]
    : (unit as Message<unknown, unknown>);
  return first === undefined || isAccepted(first);
}

/** In-place retries for a batch: the sink's own, within what every message's retry budget still allows. */
function budget(batch: readonly Message<unknown, unknown>[], retries: number): number {
  let least = retries;
  for (const message of batch) {
    const left = attemptsLeft(message);
    if (left !== undefined) least = Math.min(least, left - 1);
  }
  return Math.max(0, least);
}

/** The failure of a write: attempts made by inner retries (a nested SinkError) multiply this sink's. */
function sinkError(name: string, attempts: number, error: unknown): SinkError {
  return error instanceof SinkError
    ? new SinkError(name, attempts * error.attempts, error.cause)
    : new SinkError(name, attempts, error);
}
