/**
 * Headers `repartition` adds to each record it copies: where the record was read from, and the copy
 * agent's committed offset of that partition when it copied it. Across the hop, a record copied twice
 * (after a crash of the copy agent) carries the same origin both times: a table fed by the internal
 * topic keys its deduplication on the origin, so it counts the record once.
 *
 * @example
 * ```ts
 * const origin = `${m.headers[REPARTITION_HEADERS.topic]}/${m.headers[REPARTITION_HEADERS.partition]}`;
 * ```
 */
export const REPARTITION_HEADERS = {
  topic: 'rivulet-origin-topic',
  partition: 'rivulet-origin-partition',
  offset: 'rivulet-origin-offset',
  /**
   * The copy agent's committed offset of the origin partition as it copied the record: no origin
   * offset below it is copied again after this copy.
   */
  committed: 'rivulet-origin-committed',
  /** The internal topic the copy was written to (a record forwarded elsewhere is not a copy). */
  via: 'rivulet-origin-via',
} as const;
