import { type LineageRef } from './lineage.js';

/** Internal slot holding a message's acknowledgement lineage. Not part of the public API. @internal */
export const LINEAGE: unique symbol = Symbol('rivulet.lineage');

/**
 * Internal slot holding what a message object may still do with its lineage: a message object is one
 * reference to its record. `live`: it may be passed on, settled or failed; `held`: an operator or sink
 * is working on it; `spent`: it was settled, failed, or replaced by a derived message (moved). A spent or
 * held message that reaches a rivulet operator again is a reuse, reported as `MessageReusedError`.
 * @internal
 */
export const USE: unique symbol = Symbol('rivulet.use');

/** @internal */
export type MessageUse = 'live' | 'held' | 'spent';

/**
 * Message headers, decoded as UTF-8 strings.
 *
 * @example
 * ```ts
 * const headers: MessageHeaders = { source: 'checkout', 'trace-id': 'a1b2c3' };
 * await orders.send(order, { key: order.user, headers });
 * ```
 */
export type MessageHeaders = Readonly<Record<string, string>>;

/**
 * The fields of a {@link Message}, for {@link createMessage}.
 *
 * @example
 * ```ts
 * const init: MessageInit<Order> = { topic: 'orders', partition: 1, offset: 42, key: 'u1', value: order };
 * const message = createMessage(init);
 * ```
 */
export interface MessageInit<T, K = string | null> {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly key?: K;
  readonly value: T;
  readonly headers?: MessageHeaders;
  readonly timestamp?: number;
}

const NO_HEADERS: MessageHeaders = Object.freeze({});

/**
 * One record of a topic, decoded: the value (typed by the topic's codec), its key, headers, and where it
 * came from. Immutable: operators such as `mapValue` derive new messages that take over the original's
 * acknowledgement lineage, so rivulet can tell when the record is done. Each message object stands for
 * one reference to its record: pass it on once (to send it to several branches, use `shareMessages()`;
 * to derive several messages, `mergeMapValue` or `forkMessage`).
 *
 * @example
 * ```ts
 * orders.pipe(mapValue((order, message) => ({ ...order, partition: message.partition })));
 * ```
 */
export class Message<T = unknown, K = string | null> {
  /** @internal */
  readonly [LINEAGE]: LineageRef;
  /** @internal */
  [USE]: MessageUse = 'live';

  /** @internal Use {@link createMessage}; rivulet builds messages as it consumes them. */
  constructor(
    /** Topic the record was read from. */
    readonly topic: string,
    /** Partition of that topic. */
    readonly partition: number,
    /** Offset of the record in its partition. */
    readonly offset: number,
    /** Decoded key (`null` when the record had none). */
    readonly key: K,
    /** Decoded value. */
    readonly value: T,
    /** Record headers. */
    readonly headers: MessageHeaders,
    /** Record timestamp, in milliseconds since the epoch. */
    readonly timestamp: number,
    lineage: LineageRef,
  ) {
    this[LINEAGE] = lineage;
  }
}

/**
 * Builds a message by hand, with no lineage: settling it does nothing. Useful in tests and for values
 * that do not come from a topic.
 *
 * @example
 * ```ts
 * const message = createMessage({ topic: 'orders', offset: 7, key: 'u1', value: { qty: 3 } });
 * ```
 */
export function createMessage<T, K = string | null>(init: MessageInit<T, K>): Message<T, K> {
  return new Message<T, K>(
    init.topic ?? '',
    init.partition ?? 0,
    init.offset ?? 0,
    (init.key ?? null) as K,
    init.value,
    init.headers ?? NO_HEADERS,
    init.timestamp ?? 0,
    undefined,
  );
}

/**
 * Tells a {@link Message} from any other value.
 *
 * @example
 * ```ts
 * if (isMessage(value)) console.log(value.offset);
 * ```
 */
export function isMessage(value: unknown): value is Message<unknown, unknown> {
  return value instanceof Message;
}

/**
 * A message with another value standing for the same record. `lineage` is what the new message holds:
 * the original's (a move, as `mapValue` does) or a new reference (a fork). The one place rivulet builds a
 * message from another.
 * @internal
 */
export function deriveMessage<U, K>(
  from: Message<unknown, K>,
  value: U,
  lineage: LineageRef = from[LINEAGE],
): Message<U, K> {
  return new Message(
    from.topic,
    from.partition,
    from.offset,
    from.key,
    value,
    from.headers,
    from.timestamp,
    lineage,
  );
}

/**
 * The message of a consumed record, decoded. The one place rivulet builds a message from a record.
 * @internal
 */
export function recordMessage<T, K>(
  topic: string,
  partition: number,
  record: { readonly offset: number; readonly headers: MessageHeaders; readonly timestamp: number },
  key: K,
  value: T,
  lineage?: LineageRef,
): Message<T, K> {
  return new Message(topic, partition, record.offset, key, value, record.headers, record.timestamp, lineage);
}
