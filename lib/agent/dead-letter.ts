import { redactError } from '../core/redact.js';
import type { ProducerRecord, TopicPartition, TransportRecord } from '../transports/transport.js';

/**
 * Header names rivulet adds to dead-lettered records.
 *
 * @example
 * ```ts
 * const reason = deadRecord.headers[DEAD_LETTER_HEADERS.error];
 * ```
 */
export const DEAD_LETTER_HEADERS = {
  error: 'rivulet-error',
  errorName: 'rivulet-error-name',
  agent: 'rivulet-agent',
  topic: 'rivulet-source-topic',
  partition: 'rivulet-source-partition',
  offset: 'rivulet-source-offset',
  attempts: 'rivulet-attempts',
} as const;

/**
 * The record to produce to a dead-letter topic: the original key, value and headers, plus headers that
 * say what failed (the error's class name and its message with credentials masked, see
 * {@link redactError}), where and after how many attempts. Nothing else of the error (its fields, its
 * cause's objects, a transport's settings) reaches a header.
 * @internal
 */
export function deadLetterRecord(
  deadLetterTopic: string,
  agent: string,
  source: TopicPartition,
  record: TransportRecord,
  error: unknown,
  attempts: number,
): ProducerRecord {
  const { name, message } = redactError(error);
  return {
    topic: deadLetterTopic,
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DEAD_LETTER_HEADERS.error]: message.slice(0, 4096),
      [DEAD_LETTER_HEADERS.errorName]: name,
      [DEAD_LETTER_HEADERS.agent]: agent,
      [DEAD_LETTER_HEADERS.topic]: source.topic,
      [DEAD_LETTER_HEADERS.partition]: String(source.partition),
      [DEAD_LETTER_HEADERS.offset]: String(record.offset),
      [DEAD_LETTER_HEADERS.attempts]: String(attempts),
    },
  };
}
