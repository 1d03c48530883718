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
 * say what failed, where and after how many attempts.
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
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : typeof error;
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
