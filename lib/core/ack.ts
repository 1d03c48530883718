import { Lineage, eachLineage, joinLineages } from './lineage.js';
import { LINEAGE, Message } from './message.js';

/**
 * Marks a message as done: when every message derived from the same record is settled, the record's
 * offset may be committed. Custom sinks call this after their write succeeded; the agent runner calls it
 * for everything that reaches the end of a pipeline.
 *
 * @example
 * ```ts
 * await db.insert(message.value);
 * settleMessage(message);
 * ```
 */
export function settleMessage(message: Message<unknown, unknown>): void {
  const ref = message[LINEAGE];
  if (ref === undefined) return;
  if (ref instanceof Lineage) ref.release();
  else for (const lineage of ref) lineage.release();
}

/**
 * Reports that processing a message failed. The record goes to its agent's error policy (retry,
 * dead-letter or stop) exactly once; it is never skipped silently.
 *
 * @example
 * ```ts
 * try { await send(message.value); settleMessage(message); } catch (error) { failMessage(message, error); }
 * ```
 */
export function failMessage(message: Message<unknown, unknown>, error: unknown): void {
  eachLineage(message[LINEAGE], (lineage) => lineage.fail(error));
}

/**
 * Derives one more message from `message` for fan-out: the record is settled only when the original and
 * every fork are settled.
 *
 * @example
 * ```ts
 * for (const line of message.value.lines) subscriber.next(forkMessage(message, line));
 * settleMessage(message);
 * ```
 */
export function forkMessage<T, U, K>(message: Message<T, K>, value: U): Message<U, K> {
  eachLineage(message[LINEAGE], (lineage) => lineage.retain());
  return message.withValue(value);
}

/**
 * Builds one message standing for several (an aggregate over a window or a batch). Settling it settles
 * all of them; failing it fails all of them. Takes the key, topic and position of the last message.
 *
 * @example
 * ```ts
 * source.pipe(bufferTime(1000), map((batch) => combineMessages(batch, batch.length)));
 * ```
 */
export function combineMessages<U, K>(messages: readonly Message<unknown, K>[], value: U): Message<U, K> {
  const last = messages[messages.length - 1];
  if (last === undefined) throw new RangeError('combineMessages needs at least one message');
  const lineage = joinLineages(messages.map((message) => message[LINEAGE]));
  return new Message(
    last.topic,
    last.partition,
    last.offset,
    last.key,
    value,
    last.headers,
    last.timestamp,
    lineage,
  );
}
