import { MessageReusedError, NotAMessageError } from './errors.js';
import { Lineage, eachLineage, joinLineages } from './lineage.js';
import { LINEAGE, Message, USE, deriveMessage } from './message.js';

/**
 * Marks a message as done: when every message derived from the same record is settled, the record's
 * offset may be committed. Custom sinks call this after their write succeeded; the agent calls it for
 * every message that reaches the end of a pipeline. Settling the same message object again does nothing.
 *
 * @example
 * ```ts
 * await db.insert(message.value);
 * settleMessage(message);
 * ```
 */
export function settleMessage(message: Message<unknown, unknown>): void {
  if (message[USE] === 'spent') return;
  message[USE] = 'spent';
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
  message[USE] = 'spent';
  eachLineage(message[LINEAGE], (lineage) => lineage.fail(error));
}

/**
 * Derives one more message from `message` for fan-out: the record is settled only when the original and
 * every fork are settled. The original must still be live (not settled or replaced).
 *
 * @example
 * ```ts
 * for (const line of message.value.lines) subscriber.next(forkMessage(message, line));
 * settleMessage(message);
 * ```
 */
export function forkMessage<T, U, K>(message: Message<T, K>, value: U): Message<U, K> {
  if (!(message instanceof Message)) throw new NotAMessageError('forkMessage', message);
  if (message[USE] === 'spent') throw new MessageReusedError('forkMessage');
  eachLineage(message[LINEAGE], (lineage) => lineage.retain());
  return deriveMessage(message, value);
}

/**
 * Builds one message standing for several (an aggregate over a window or a batch). The new message takes
 * over their references: settling it settles all of them; failing it fails all of them. Takes the key,
 * topic and position of the last message.
 *
 * @example
 * ```ts
 * source.pipe(bufferTime(1000), map((batch) => combineMessages(batch, batch.length)));
 * ```
 */
export function combineMessages<U, K>(messages: readonly Message<unknown, K>[], value: U): Message<U, K> {
  const last = messages[messages.length - 1];
  if (last === undefined) throw new RangeError('combineMessages needs at least one message');
  for (const message of messages) {
    if (!(message instanceof Message)) throw new NotAMessageError('combineMessages', message);
    if (message[USE] !== 'live') throw new MessageReusedError('combineMessages');
  }
  for (const message of messages) message[USE] = 'spent';
  return deriveMessage(last, value, joinLineages(messages.map((message) => message[LINEAGE])));
}

/**
 * Takes a value arriving at a rivulet operator or sink: a live message is marked held and returned. A
 * value that is not a message errors `subscriber` with {@link NotAMessageError} (the agent attributes it to
 * the record being pushed); a message already used elsewhere fails its record with
 * {@link MessageReusedError}. Either way it returns undefined and the caller drops the value.
 * @internal
 */
export function claimMessage<T, K>(
  value: Message<T, K>,
  where: string,
  subscriber: { error(error: unknown): void },
): Message<T, K> | undefined {
  if (!(value instanceof Message)) {
    subscriber.error(new NotAMessageError(where, value));
    return undefined;
  }
  if (value[USE] !== 'live') {
    failMessage(value, new MessageReusedError(where));
    return undefined;
  }
  value[USE] = 'held';
  return value;
}

/** Hands a held message back (a sink emitting what it wrote): it may be passed on and settled. @internal */
export function releaseMessage(message: Message<unknown, unknown>): void {
  if (message[USE] === 'held') message[USE] = 'live';
}

/** The message that takes over `message`'s reference with a new value (`message` is spent). @internal */
export function moveMessage<U, K>(message: Message<unknown, K>, value: U): Message<U, K> {
  message[USE] = 'spent';
  return deriveMessage(message, value);
}

/** Whether the agents of `message` still accept new work (false once they stop). @internal */
export function isAccepted(message: Message<unknown, unknown>): boolean {
  let accepted = true;
  eachLineage(message[LINEAGE], (lineage) => {
    if (!lineage.owner.accepting) accepted = false;
  });
  return accepted;
}

/**
 * Attempts the message's record may still make under its agent's retry budget (the least over an
 * aggregate's records), or undefined for a message with no agent (built by hand, or under test).
 * @internal
 */
export function attemptsLeft(message: Message<unknown, unknown>): number | undefined {
  let left: number | undefined;
  eachLineage(message[LINEAGE], (lineage) => {
    const own = lineage.owner.attemptsLeft?.(lineage);
    if (own !== undefined) left = left === undefined ? own : Math.min(left, own);
  });
  return left;
}
