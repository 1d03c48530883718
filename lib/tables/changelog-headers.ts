import type { MessageHeaders } from '../core/message.js';
import { AppliedOffsets } from './applied-offsets.js';

/**
 * Headers of the changelog records a table writes: every record names the source record the change
 * was made for; the last record of each produce also carries the source offsets applied above the
 * committed offset as of its change (`rivulet-applied`). The last record of a changelog partition
 * (which compaction always keeps) thus carries everything a new owner needs to recognise redelivered
 * records.
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

/** What can tell the applied offsets as of one of its writes. @internal */
export interface AppliedAsOf<W> {
  /** {@link AppliedOffsets.encode} of the offsets applied when `write` was made (later ones left out). */
  appliedAsOf(write: W): string;
}

/**
 * The headers of one changelog record: the source headers (and any extra ones) as plain enumerable
 * properties, and, invisible to anything that reads headers, the write they belong to, so that the
 * applied offsets are computed only for the records that carry them (a produce's last).
 * @internal
 */
export class ChangelogRecordHeaders<W = unknown> {
  [name: string]: string;
  #source: AppliedAsOf<W> | undefined;
  #write: W | undefined;

  constructor(
    source: AppliedAsOf<W>,
    write: W,
    topic: string,
    partition: string,
    offset: number,
    extra: Readonly<Record<string, string>> | undefined,
  ) {
    if (extra !== undefined) for (const name in extra) this[name] = extra[name]!;
    this[CHANGELOG_HEADERS.sourceTopic] = topic;
    this[CHANGELOG_HEADERS.sourcePartition] = partition;
    this[CHANGELOG_HEADERS.sourceOffset] = String(offset);
    this.#source = source;
    this.#write = write;
  }

  /** The `rivulet-applied` value as of the write `headers` belong to (undefined for other headers). */
  static appliedOf(headers: Readonly<Record<string, string>> | undefined): string | undefined {
    if (!(headers instanceof ChangelogRecordHeaders) || headers.#source === undefined) return undefined;
    return headers.#source.appliedAsOf(headers.#write);
  }

  /** Forgets the write (it is settled: a stored copy of the headers must not keep it alive). */
  static unlink(headers: Readonly<Record<string, string>>): void {
    if (headers instanceof ChangelogRecordHeaders) {
      headers.#source = undefined;
      headers.#write = undefined;
    }
  }
}

/** The applied offsets a changelog record carries, or undefined (a record written by something else). @internal */
export function appliedFromHeaders(headers: MessageHeaders): AppliedOffsets | undefined {
  const text = headers[CHANGELOG_HEADERS.applied];
  return text === undefined ? undefined : AppliedOffsets.decode(text);
}
