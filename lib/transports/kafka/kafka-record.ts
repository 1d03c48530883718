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
    timestamp: Number(message.timestamp),
  };
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

function toHeaders(headers: IHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  let any = false;
  for (const name in headers) {
    let value = headers[name];
    if (Array.isArray(value)) value = value[value.length - 1];
    if (value === undefined) continue;
    result[name] = typeof value === 'string' ? value : value.toString('utf8');
    any = true;
  }
  return any ? result : NO_HEADERS;
}
