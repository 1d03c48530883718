import { Observable, type ObservableInput, type OperatorFunction, from, mergeMap, pipe } from 'rxjs';
import { failMessage, forkMessage, settleClaimed } from '../core/ack.js';
import type { Message } from '../core/message.js';
import { operateMessages } from '../core/operate-messages.js';

const WHERE = 'mergeMapValue';

/**
 * Runs an asynchronous step per message, at most `concurrency` at once (default 16), and emits one
 * message per value the step yields, each keeping the original's lineage: the record is settled when
 * the step has completed and every emitted message is settled. A step that yields nothing settles the
 * message; a step that errors sends it to the agent's error policy. Completion order may differ from
 * arrival order: commits still only cover the contiguous settled prefix.
 *
 * @example
 * ```ts
 * order$.pipe(mergeMapValue((order) => fetchPrice(order.symbol), { concurrency: 32 }));
 * ```
 */
export function mergeMapValue<T, U, K>(
  project: (value: T, message: Message<T, K>) => ObservableInput<U>,
  options: { readonly concurrency?: number } = {},
): OperatorFunction<Message<T, K>, Message<U, K>> {
  // Claimed on arrival by the kernel; mergeMap runs the steps, at most `concurrency` at once.
  const claim = operateMessages<T, K, Message<T, K>>(WHERE, (subscriber) => ({
    next: (message) => subscriber.next(message),
  }));
  const run = mergeMap(
    (message: Message<T, K>) =>
      new Observable<Message<U, K>>((subscriber) => {
        let step: Observable<U>;
        try {
          step = from(project(message.value, message));
        } catch (error) {
          failMessage(message, error);
          subscriber.complete();
          return;
        }
        return step.subscribe({
          next: (value) => subscriber.next(forkMessage(message, value)),
          error: (error: unknown) => {
            failMessage(message, error);
            subscriber.complete();
          },
          complete: () => {
            settleClaimed(message, WHERE);
            subscriber.complete();
          },
        });
      }),
    options.concurrency ?? 16,
  );
  return pipe(claim, run);
}
