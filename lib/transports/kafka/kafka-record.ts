import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { TransportRecord } from '../transport.js';

/**
 * A kafkajs message as a {@link TransportRecord}: offset and timestamp as numbers, header values as
 * UTF-8 strings (the last one when a header is repeated).
 *
 * @example
 * ```ts
 * const records = batch.messages.map(toTransportRecord);
 * ```
 */
export function toTransportRecord(message: KafkaMessage): TransportRecord {
  return {
    offset: Number(message.offset),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: message.headers ? toHeaders(message.headers) : NO_HEADERS,
    timestamp: decimal(message.timestamp),
  };
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Header values as strings; the shared empty object (nothing allocated) when there is none. */
function toHeaders(headers: IHeaders): Readonly<Record<string, string>> {
  let result: Record<string, string> | undefined;
  for (const name in headers) {
    let value = headers[name];
    if (Array.isArray(value)) value = value[value.length - 1];
    if (value === undefined) continue;
    (result ??= {})[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return result ?? NO_HEADERS;
}

/**
 * A decimal string as a number, as `Number(text)` returns it. A timestamp's 13 digits are not an array
 * index, which V8 converts fast, so `Number` runs its general parser (~70 ns on the Kafka path, once per
 * record): plain digits up to 15 of them (exact in a double) are read here instead, anything else by `Number`.
 */
export function decimal(text: string): number {
  const length = text.length;
  if (length === 0 || length > 15) return Number(text);
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text);
    value = value * 10 + digit;
  }
  return value;
}
