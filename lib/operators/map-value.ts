import type { OperatorFunction } from 'rxjs';
import { failMessage, moveMessage } from '../core/ack.js';
import type { Message } from '../core/message.js';
import { operateMessages } from '../core/operate-messages.js';

/**
 * Maps each message's value, keeping the message (key, headers, position) and its acknowledgement
 * lineage (the new message takes over the input's reference). If `project` throws, the message goes to
 * the agent's error policy and the stream goes on. Anything but a message arriving here fails the record
 * being pushed with `NotAMessageError`.
 *
 * @example
 * ```ts
 * order$.pipe(mapValue((order) => ({ ...order, total: order.quantity * order.price })));
 * ```
 */
export function mapValue<T, U, K>(
  project: (value: T, message: Message<T, K>) => U,
): OperatorFunction<Message<T, K>, Message<U, K>> {
  return operateMessages<T, K, Message<U, K>>('mapValue', (subscriber) => ({
    next(message) {
      let value: U;
      try {
        value = project(message.value, message);
      } catch (error) {
        failMessage(message, error);
        return;
      }
      subscriber.next(moveMessage(message, value));
    },
  }));
}
