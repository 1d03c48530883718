/**
 * The source offsets of one partition whose change a table has applied, above the group's committed
 * offset (the `floor`): what a table needs to tell a redelivered record (apply nothing) from a record it
 * never applied (a failed update retried, a record after a crash). Kept as sorted, disjoint ranges: the
 * usual content is a single range `[committed, last applied]`, so it stays tiny whatever the throughput.
 *
 * Offsets below the floor were committed: they are never delivered again, and the set forgets them.
 * @internal
 */
export class AppliedOffsets {
  /** Flat sorted pairs: start (included), end (excluded); ranges are disjoint and never adjacent. */
  #ranges: number[] = [];
  #floor = 0;

  /** Offsets below it are committed (and forgotten). */
  get floor(): number {
    return this.#floor;
  }

  /** Ranges held (for tests and sizing). */
  get ranges(): number {
    return this.#ranges.length / 2;
  }

  has(offset: number): boolean {
    const i = this.#rangeAtOrBefore(offset);
    return i >= 0 && offset < this.#ranges[i + 1]!;
  }

  add(offset: number): void {
    const r = this.#ranges;
    const i = this.#rangeAtOrBefore(offset);
    if (i >= 0 && offset < r[i + 1]!) return;
    const joinsPrevious = i >= 0 && r[i + 1] === offset;
    const next = i < 0 ? 0 : i + 2;
    const joinsNext = next < r.length && r[next] === offset + 1;
    if (joinsPrevious && joinsNext)
      r.splice(i + 1, 2); // [a, o) + o + [o+1, b) → [a, b)
    else if (joinsPrevious) r[i + 1] = offset + 1;
    else if (joinsNext) r[next] = offset;
    else r.splice(next, 0, offset, offset + 1);
  }

  /** Forgets `offset` (no-op when it is not held). */
  delete(offset: number): void {
    const r = this.#ranges;
    const i = this.#rangeAtOrBefore(offset);
    if (i < 0 || offset >= r[i + 1]!) return;
    const start = r[i]!;
    const end = r[i + 1]!;
    if (start === offset && end === offset + 1) r.splice(i, 2);
    else if (start === offset) r[i] = offset + 1;
    else if (end === offset + 1) r[i + 1] = offset;
    else r.splice(i + 1, 0, offset, offset + 1); // [a, b) - o → [a, o) + [o+1, b)
  }

  /** A copy holding the same floor and offsets. */
  clone(): AppliedOffsets {
    const copy = new AppliedOffsets();
    copy.#floor = this.#floor;
    copy.#ranges = this.#ranges.slice();
    return copy;
  }

  /**
   * {@link encode} of these offsets without `offsets` (those applied after some change: what a
   * changelog record carries as of that change). Cheapest when `offsets` descend from the highest.
   */
  encodeWithout(offsets: readonly number[]): string {
    if (offsets.length === 0) return this.encode();
    const copy = this.clone();
    for (const offset of offsets) copy.delete(offset);
    return copy.encode();
  }

  /** The group committed `committed` (the next offset to read): forget what lies below. */
  prune(committed: number): void {
    if (committed <= this.#floor) return;
    this.#floor = committed;
    const r = this.#ranges;
    let drop = 0;
    while (drop < r.length && r[drop + 1]! <= committed) drop += 2;
    if (drop > 0) r.splice(0, drop);
    if (r.length > 0 && r[0]! < committed) r[0] = committed;
  }

  /** `floor;start-end,start-end` (what a changelog record carries in its headers). */
  encode(): string {
    const r = this.#ranges;
    let text = `${this.#floor};`;
    for (let i = 0; i < r.length; i += 2) text += `${i === 0 ? '' : ','}${r[i]}-${r[i + 1]}`;
    return text;
  }

  /** Parses {@link encode}'s text; undefined when it is not such a text. */
  static decode(text: string): AppliedOffsets | undefined {
    const match = /^(\d+);((?:\d+-\d+)(?:,\d+-\d+)*)?$/.exec(text);
    if (!match) return undefined;
    const offsets = new AppliedOffsets();
    offsets.#floor = Number(match[1]);
    let last = -1;
    for (const part of match[2]?.split(',') ?? []) {
      const [start, end] = part.split('-').map(Number) as [number, number];
      if (start >= end || start <= last) return undefined;
      offsets.#ranges.push(start, end);
      last = end;
    }
    return offsets;
  }

  /**
   * A shorter {@link encode} for sparse offsets (those of one origin partition that a repartition sent to
   * one partition): `floor;gap.length,gap.length` in base 36, each gap from the previous range's end (the
   * floor for the first), a length of 1 left out. About a third of {@link encode}'s length.
   */
  encodeGaps(): string {
    const r = this.#ranges;
    let text = `${this.#floor.toString(36)};`;
    let previous = this.#floor;
    for (let i = 0; i < r.length; i += 2) {
      const length = r[i + 1]! - r[i]!;
      text += `${i === 0 ? '' : ','}${(r[i]! - previous).toString(36)}${length === 1 ? '' : `.${length.toString(36)}`}`;
      previous = r[i + 1]!;
    }
    return text;
  }

  /** Parses {@link encodeGaps}'s text; undefined when it is not such a text. */
  static decodeGaps(text: string): AppliedOffsets | undefined {
    const match = /^([0-9a-z]+);((?:[0-9a-z]+(?:\.[0-9a-z]+)?)(?:,[0-9a-z]+(?:\.[0-9a-z]+)?)*)?$/.exec(text);
    if (!match) return undefined;
    const offsets = new AppliedOffsets();
    let previous = parseInt(match[1]!, 36);
    offsets.#floor = previous;
    for (const part of match[2]?.split(',') ?? []) {
      const [gap, length = '1'] = part.split('.') as [string, string?];
      const start = previous + parseInt(gap, 36);
      const end = start + parseInt(length, 36);
      if (end <= start || (offsets.#ranges.length > 0 && start <= previous)) return undefined;
      offsets.#ranges.push(start, end);
      previous = end;
    }
    return offsets;
  }

  /** Index of the start of the last range starting at or before `offset`, or -1. */
  #rangeAtOrBefore(offset: number): number {
    const r = this.#ranges;
    // The common case: at or past the last range.
    if (r.length === 0) return -1;
    if (r[r.length - 2]! <= offset) return r.length - 2;
    let low = 0;
    let high = r.length / 2 - 1; // ranges [low, high]; answer is the last with start <= offset
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (r[middle * 2]! <= offset) {
        found = middle * 2;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }
}
