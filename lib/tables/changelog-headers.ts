import type { MessageHeaders } from '../core/message.js';
import { AppliedOffsets } from './applied-offsets.js';

/**
 * Headers of every changelog record a table writes: the source record the change was made for, and the
 * source offsets applied so far above the committed offset (after this change). The last record of a
 * changelog partition (which compaction always keeps) thus carries everything a new owner needs to
 * recognise redelivered records.
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
} as const;

/** The headers of the change made for the record at `offset` of `topic[partition]`. @internal */
export function changelogHeaders(
  topic: string,
  partition: number,
  offset: number,
  applied: AppliedOffsets,
): Record<string, string> {
  return {
    [CHANGELOG_HEADERS.sourceTopic]: topic,
    [CHANGELOG_HEADERS.sourcePartition]: String(partition),
    [CHANGELOG_HEADERS.sourceOffset]: String(offset),
    [CHANGELOG_HEADERS.applied]: applied.encode(),
  };
}

/** The applied offsets a changelog record carries, or undefined (a record written by something else). @internal */
export function appliedFromHeaders(headers: MessageHeaders): AppliedOffsets | undefined {
  const text = headers[CHANGELOG_HEADERS.applied];
  return text === undefined ? undefined : AppliedOffsets.decode(text);
}
