import type { Message } from '../../core/message.js';

/**
 * The default `Idempotency-Key` of the request for a message: its topic, partition and offset, which
 * stay the same however often the record is redelivered or retried, so the server can drop duplicates.
 *
 * @example
 * ```ts
 * recordKey(message); // 'orders/3/1042'
 * ```
 */
export function recordKey(message: Message<unknown, unknown>): string {
  return `${message.topic}/${message.partition}/${message.offset}`;
}
