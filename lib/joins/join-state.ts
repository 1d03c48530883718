/**
 * One key's state in a stream–stream join, as stored (JSON) in the join's changelogged table: the
 * records of each side still able to match, and the results not yet settled downstream. Values are
 * kept as their side's codec bytes (base64), so any codec round-trips.
 * @internal
 */
export interface JoinState {
  /** Left records buffered, by arrival. */
  readonly l?: readonly Buffered[];
  /** Right records buffered, by arrival. */
  readonly r?: readonly Buffered[];
  /** Results waiting to be emitted or settled. */
  readonly p?: readonly PendingJoin[];
}

/** A buffered record: event time, id (its origin), value (base64 of its side's encoding), matched (1) or not (0). @internal */
export type Buffered = readonly [t: number, id: string, value: string, matched: 0 | 1];

/** A result kept until it settles: id, timestamp, the left and right values (base64; null: none). @internal */
export type PendingJoin = readonly [id: string, t: number, left: string | null, right: string | null];

/** Which side a record comes from. */
export type Side = 'left' | 'right';

/**
 * Which records a stream–stream join emits: `inner` the matches only; `left` also each left record that
 * matched nothing (with no right value); `outer` also each unmatched record of either side.
 *
 * @example
 * ```ts
 * const type: JoinType = 'left';
 * ```
 */
export type JoinType = 'inner' | 'left' | 'outer';

/** The id of a result: the left record's id and the right record's (empty for none). @internal */
export function pendingId(left: string | undefined, right: string | undefined): string {
  return `${left ?? ''}+${right ?? ''}`;
}

/**
 * The state after a record of `side` at event time `t` arrived: buffered, and matched with each
 * record of the other side within `within` ms (both marked matched, one pending result each).
 * @internal
 */
export function addRecord(
  state: JoinState | undefined,
  side: Side,
  record: Buffered,
  within: number,
): JoinState {
  const [t, id, value] = record;
  const own = side === 'left' ? 'l' : 'r';
  const other = side === 'left' ? 'r' : 'l';
  const pending = [...(state?.p ?? [])];
  let matched: 0 | 1 = 0;
  const others = (state?.[other] ?? []).map((entry): Buffered => {
    const [u, otherId, otherValue] = entry;
    if (Math.abs(t - u) > within) return entry;
    matched = 1;
    const [leftId, rightId] = side === 'left' ? [id, otherId] : [otherId, id];
    const [leftValue, rightValue] = side === 'left' ? [value, otherValue] : [otherValue, value];
    pending.push([pendingId(leftId, rightId), Math.max(t, u), leftValue, rightValue]);
    return entry[3] === 1 ? entry : [u, otherId, otherValue, 1];
  });
  const next: { l?: readonly Buffered[]; r?: readonly Buffered[]; p?: readonly PendingJoin[] } = {
    ...state,
    [own]: [...(state?.[own] ?? []), [t, id, value, matched]],
  };
  if (others.length > 0) next[other] = others;
  if (pending.length > 0) next.p = pending;
  return next;
}

/**
 * When a record at event time `t` can match nothing more: once the watermark (stream time − grace)
 * reaches this, every record that could still match it would be late.
 * @internal
 */
export function expiryOf(t: number, within: number): number {
  return t + 2 * within + 1;
}

/** Whether a record at event time `t` is late at `watermark`: its own window closed. @internal */
export function isLate(t: number, within: number, watermark: number): boolean {
  return t + within < watermark;
}

/** When the key's first buffered record expires, if it has any. @internal */
export function nextExpiry(state: JoinState | undefined, within: number): number | undefined {
  let first: number | undefined;
  for (const [t] of [...(state?.l ?? []), ...(state?.r ?? [])]) {
    const at = expiryOf(t, within);
    if (first === undefined || at < first) first = at;
  }
  return first;
}

/**
 * The state once the watermark reached `upTo`: expired records dropped, and (for `left` and `outer`)
 * the unmatched ones among them pending as results of their own. `undefined` when nothing is left;
 * the same object when nothing expired.
 * @internal
 */
export function expire(
  state: JoinState,
  upTo: number,
  within: number,
  type: JoinType,
): JoinState | undefined {
  const pending = [...(state.p ?? [])];
  const keep = (side: Side, entries: readonly Buffered[] | undefined): Buffered[] => {
    const kept: Buffered[] = [];
    for (const entry of entries ?? []) {
      const [t, id, value, matched] = entry;
      if (expiryOf(t, within) > upTo) kept.push(entry);
      else if (matched === 0 && (type === 'outer' || (type === 'left' && side === 'left')))
        pending.push(
          side === 'left'
            ? [pendingId(id, undefined), t, value, null]
            : [pendingId(undefined, id), t, null, value],
        );
    }
    return kept;
  };
  const l = keep('left', state.l);
  const r = keep('right', state.r);
  if (l.length === (state.l?.length ?? 0) && r.length === (state.r?.length ?? 0)) return state;
  return compact({ l, r, p: pending });
}

/** The state without the result `id` (settled or dead-lettered); `undefined` when nothing is left. @internal */
export function removePending(state: JoinState | undefined, id: string): JoinState | undefined {
  if (!state) return undefined;
  return compact({ ...state, p: (state.p ?? []).filter(([pending]) => pending !== id) });
}

function compact(state: JoinState): JoinState | undefined {
  const next: { l?: readonly Buffered[]; r?: readonly Buffered[]; p?: readonly PendingJoin[] } = {};
  if (state.l?.length) next.l = state.l;
  if (state.r?.length) next.r = state.r;
  if (state.p?.length) next.p = state.p;
  return next.l || next.r || next.p ? next : undefined;
}
