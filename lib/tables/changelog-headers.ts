import type { MessageHeaders } from '../core/message.js';
import { AppliedOffsets } from './applied-offsets.js';
import { OriginOffsets } from './origin-offsets.js';

/**
 * Headers of the changelog records a table writes. The last record of each produce names the source
 * record its change was made for (topic, partition, offset) and carries the source offsets applied
 * above the committed offset as of its change (`rivulet-applied`); the records before it in their
 * produce carry none of these (only a windowed table's watermark), which spares the producer three
 * headers per record. The last record of a changelog partition (which compaction always keeps) thus
 * carries everything a new owner needs to recognise redelivered records.
 *
 * @example
 * ```ts
 * record.headers[CHANGELOG_HEADERS.sourceOffset]; // '1042'
 * ```
 */
export const CHANGELOG_HEADERS = {
  sourceTopic: 'rivulet-source-topic',
  sourcePartition: 'rivulet-source-partition',
  sourceOffset: 'rivulet-source-offset',
  applied: 'rivulet-applied',
  /** Per origin partition of a repartition hop, the origin offsets applied above a floor. */
  appliedOrigins: 'rivulet-applied-origins',
} as const;

/** The applied offsets a changelog record carries, or undefined (a record written by something else). @internal */
export function appliedFromHeaders(headers: MessageHeaders): AppliedOffsets | undefined {
  const text = headers[CHANGELOG_HEADERS.applied];
  return text === undefined ? undefined : AppliedOffsets.decode(text);
}

/** The applied origin offsets a changelog record carries, or undefined (none, or not readable). @internal */
export function originsFromHeaders(headers: MessageHeaders): OriginOffsets | undefined {
  const text = headers[CHANGELOG_HEADERS.appliedOrigins];
  return text === undefined ? undefined : OriginOffsets.decode(text);
}
