import type { OperatorFunction } from 'rxjs';
import { failMessage, releaseMessage, settleClaimed } from '../core/ack.js';
import type { Message } from '../core/message.js';
import { operateMessages } from '../core/operate-messages.js';

/**
 * Keeps the messages whose value passes `predicate` and settles the others on purpose, so their offsets
 * can be committed. (A plain RxJS `filter` would drop them unsettled and hold commits back.) If the
 * predicate throws, the message goes to the agent's error policy.
 *
 * @example
 * ```ts
 * order$.pipe(filterValue((order) => order.quantity > 0));
 * ```
 */
export function filterValue<T, S extends T, K>(
  predicate: (value: T, message: Message<T, K>) => value is S,
): OperatorFunction<Message<T, K>, Message<S, K>>;
export function filterValue<T, K>(
  predicate: (value: T, message: Message<T, K>) => boolean,
): OperatorFunction<Message<T, K>, Message<T, K>>;
export function filterValue<T, K>(
  predicate: (value: T, message: Message<T, K>) => boolean,
): OperatorFunction<Message<T, K>, Message<T, K>> {
  return operateMessages<T, K, Message<T, K>>('filterValue', (subscriber) => ({
    next(message) {
      let keep: boolean;
      try {
        keep = predicate(message.value, message);
      } catch (error) {
        failMessage(message, error);
        return;
      }
      if (keep) {
        releaseMessage(message);
        subscriber.next(message);
      } else settleClaimed(message, 'filterValue');
    },
  }));
}
