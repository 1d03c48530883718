import { MessageReusedError, NotAMessageError, type RecordPosition } from './errors.js';
import { Lineage, eachLineage, joinLineages } from './lineage.js';
import { LINEAGE, Message, type MessageUse, USE, deriveMessage } from './message.js';

/**
 * Marks a message as done: when every message derived from the same record is settled, the record's
 * offset may be committed. Custom sinks call this after their write succeeded, for a message they do
 * not pass on (the agent settles every message that reaches the end of a pipeline). Each message
 * object settles once: settling it again, after it was failed, replaced or passed to a rivulet operator
 * or sink, is a {@link MessageReusedError} (the record goes to its error policy, or the agent logs it
 * once the record is done).
 *
 * @example
 * ```ts
 * await db.insert(message.value);
 * settleMessage(message);
 * ```
 */
export function settleMessage(message: Message<unknown, unknown>): void {
  settle(message, 'live', 'settleMessage');
}

/** Where a message that reaches the end of a pipeline is settled, in errors. @internal */
export const PIPELINE_END = 'the end of the pipeline';

/**
 * Settles a message that reached the end of a pipeline (the agent, `testPipeline`). Only a live message
 * may arrive there: a held one is still being worked on by an operator or sink (one object sent down two
 * paths), a spent one was settled or replaced already; either is a {@link MessageReusedError}.
 * @internal
 */
export function settleAtEnd(message: Message<unknown, unknown>): void {
  settle(message, 'live', PIPELINE_END);
}

/**
 * Settles a message that the operator `where` claimed ({@link claimMessage}) and still holds (a filter
 * dropping it, a step done with it). One that was settled or failed meanwhile (by the user's function,
 * say) is a {@link MessageReusedError}, never a second release.
 * @internal
 */
export function settleClaimed(message: Message<unknown, unknown>, where: string): void {
  settle(message, 'held', where);
}

function settle(message: Message<unknown, unknown>, use: MessageUse, where: string): void {
  if (message[USE] === use) release(message);
  else reuseMessage(message, where);
}

function release(message: Message<unknown, unknown>): void {
  message[USE] = 'spent';
  const ref = message[LINEAGE];
  if (ref === undefined) return;
  if (ref instanceof Lineage) ref.release();
  else for (const lineage of ref) lineage.release();
}

/**
 * Reports that `where` received `message` again, loudly every time: a record still open fails with
 * {@link MessageReusedError} (to its error policy, once); a record already done is reported to its
 * owner (the agent logs it). A message built by hand stands for no record: `subscriber` errors with it
 * when there is one (settling a hand-made message twice changes nothing). The message keeps its state:
 * whoever holds it goes on.
 * @internal
 */
export function reuseMessage(
  message: Message<unknown, unknown>,
  where: string,
  subscriber?: { error(error: unknown): void },
): void {
  const ref = message[LINEAGE];
  const error = new MessageReusedError(where, position(message));
  if (ref === undefined) subscriber?.error(error);
  else eachLineage(ref, (lineage) => lineage.reused(error));
}

/**
 * Reports that processing a message failed. The record goes to its agent's error policy (retry,
 * dead-letter or stop) exactly once; it is never skipped silently. Failing a message already settled or
 * replaced, once its record is done, is a {@link MessageReusedError} (the agent logs it).
 *
 * @example
 * ```ts
 * try { await send(message.value); settleMessage(message); } catch (error) { failMessage(message, error); }
 * ```
 */
export function failMessage(message: Message<unknown, unknown>, error: unknown): void {
  const used = message[USE] === 'spent';
  message[USE] = 'spent';
  eachLineage(message[LINEAGE], (lineage) => {
    // failing a settled record would change nothing: the late failure of a used message is a reuse
    if (used && lineage.done) lineage.reused(new MessageReusedError('failMessage', position(message)));
    else lineage.fail(error);
  });
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
  if (message[USE] === 'spent') throw new MessageReusedError('forkMessage', position(message));
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
    if (message[USE] !== 'live') throw new MessageReusedError('combineMessages', position(message));
  }
  for (const message of messages) message[USE] = 'spent';
  return deriveMessage(last, value, joinLineages(messages.map((message) => message[LINEAGE])));
}

/**
 * Takes a value arriving at a rivulet operator or sink: a live message is marked held and returned. A
 * value that is not a message errors `subscriber` with {@link NotAMessageError} (the agent attributes it to
 * the record being pushed); a message already used elsewhere (held by another operator, or spent) is
 * reported as a reuse ({@link reuseMessage}). Either way it returns undefined and the caller drops the value.
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
    reuseMessage(value, where, subscriber);
    return undefined;
  }
  value[USE] = 'held';
  return value;
}

/** Where a message's record sits, for an error (no reference to the message or its value). */
function position(message: Message<unknown, unknown>): RecordPosition | undefined {
  if (message[LINEAGE] === undefined) return undefined;
  const { topic, partition, offset } = message;
  return { topic, partition, offset };
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
