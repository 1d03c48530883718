import type { Codec } from '../codecs/codec.js';
import type { TopicPartition, TransportRecord } from '../transports/transport.js';
import { DecodeError, type RecordPosition } from '../core/errors.js';

/** A record's decoded key and value. @internal */
export interface Decoded<T, K> {
  readonly key: K | null;
  readonly value: T;
}

/**
 * Decodes a record's key and value with the topic's codecs. Synchronous unless a codec is asynchronous
 * (an async schema); throws or rejects with a {@link DecodeError} naming the record.
 * @internal
 */
export function decodeRecord<T, K>(
  source: TopicPartition,
  record: TransportRecord,
  keyCodec: Codec<K>,
  valueCodec: Codec<T>,
): Decoded<T, K> | Promise<Decoded<T, K>> {
  let key: K | Promise<K> | null = null;
  let value: T | Promise<T>;
  try {
    if (record.key !== null) key = keyCodec.decode(record.key);
  } catch (error) {
    throw new DecodeError(positionOf(source, record), 'key', error);
  }
  try {
    if (record.value === null) throw new Error('the record has no value (a tombstone)');
    value = valueCodec.decode(record.value);
  } catch (error) {
    throw new DecodeError(positionOf(source, record), 'value', error);
  }
  if (!(key instanceof Promise) && !(value instanceof Promise)) return { key, value };
  return Promise.all([
    Promise.resolve(key).catch((error: unknown) =>
      Promise.reject(new DecodeError(positionOf(source, record), 'key', error)),
    ),
    Promise.resolve(value).catch((error: unknown) =>
      Promise.reject(new DecodeError(positionOf(source, record), 'value', error)),
    ),
  ]).then(([k, v]) => ({ key: k, value: v }));
}

/** Where the record sits, built only for an error (decoding runs once per record). */
function positionOf(source: TopicPartition, record: TransportRecord): RecordPosition {
  return { topic: source.topic, partition: source.partition, offset: record.offset };
}
