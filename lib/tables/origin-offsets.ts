import type { Message } from '../core/message.js';
import { REPARTITION_HEADERS } from '../core/repartition-headers.js';
import { AppliedOffsets } from './applied-offsets.js';

/**
 * Where a record that came through a repartition hop was read from: the record it is a copy of (its
 * topic and partition as `id`, its `offset`), and the copy agent's committed offset of that partition
 * when it was copied (`committed`). Made only for such records. @internal
 */
export interface HopOrigin {
  /** `topic/partition` of the origin. */
  readonly id: string;
  readonly offset: number;
  readonly committed: number;
}

/**
 * The origin of a copy `repartition` made, read from its headers; undefined for any other record (no
 * such headers, or headers of a copy forwarded to another topic than the one it was copied to). Costs
 * one header lookup for a record that did not come through a hop.
 * @internal
 */
export function hopOrigin(message: Message<unknown, unknown>): HopOrigin | undefined {
  const headers = message.headers;
  const committed = headers[REPARTITION_HEADERS.committed];
  if (committed === undefined || headers[REPARTITION_HEADERS.via] !== message.topic) return undefined;
  const offset = Number(headers[REPARTITION_HEADERS.offset]);
  const floor = Number(committed);
  const partition = headers[REPARTITION_HEADERS.partition];
  const topic = headers[REPARTITION_HEADERS.topic];
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(floor) || !partition || !topic) return undefined;
  return { id: `${topic}/${partition}`, offset, committed: floor };
}

/** The applied offsets of one origin partition, and the floors it may move to once committed here. */
interface Origin {
  readonly applied: AppliedOffsets;
  /** Flat pairs: an offset of the table's own source partition, the origin floor a copy there carried. */
  floors: number[];
}

/**
 * What a table partition fed by a repartitioned topic has applied, per origin partition: the origin
 * offsets of the copies it applied, above a floor. A second copy of a record (the copy agent crashed
 * after copying it, before committing) has another offset in the internal topic but the same origin:
 * it is recognised here.
 *
 * The floor of an origin partition moves to the copy agent's committed offset a copy carried, but only
 * once this table's own agent committed past that copy: every earlier copy of an origin offset below
 * that floor lies before it in the partition (it was acknowledged before the commit the copy carries),
 * so it has settled here, and no copy of such an offset is made again. A copy below the floor is thus
 * always a second copy. Moving the floor as soon as a copy arrives would forget a first copy still
 * being retried.
 * @internal
 */
export class OriginOffsets {
  readonly #origins = new Map<string, Origin>();

  /** Origin partitions held (for tests and sizing). */
  get size(): number {
    return this.#origins.size;
  }

  /** Whether a copy of `hop`'s origin record was applied already (or lies below the floor: settled). */
  has(hop: HopOrigin): boolean {
    const origin = this.#origins.get(hop.id);
    return origin !== undefined && (hop.offset < origin.applied.floor || origin.applied.has(hop.offset));
  }

  /** A copy of `hop` is applied. */
  add(hop: HopOrigin): void {
    this.#origin(hop.id).applied.add(hop.offset);
  }

  /**
   * The copy of `hop` is at `offset` of the table's source partition: once that offset is committed,
   * the origin's floor may move to the committed offset the copy carried.
   */
  note(hop: HopOrigin, offset: number): void {
    const origin = this.#origin(hop.id);
    const floors = origin.floors;
    const last = floors.length > 0 ? floors[floors.length - 1]! : origin.applied.floor;
    if (hop.committed > last) floors.push(offset, hop.committed);
  }

  /** The table's agent committed `committed` of its source partition: floors noted below it apply. */
  prune(committed: number): void {
    for (const origin of this.#origins.values()) {
      const floors = origin.floors;
      if (floors.length === 0) continue;
      let floor = -1;
      let kept = 0;
      for (let i = 0; i < floors.length; i += 2) {
        if (floors[i]! < committed) floor = Math.max(floor, floors[i + 1]!);
        else {
          floors[kept++] = floors[i]!;
          floors[kept++] = floors[i + 1]!;
        }
      }
      floors.length = kept;
      if (floor >= 0) origin.applied.prune(floor);
    }
  }

  /**
   * `origin-id=floor;gaps` (see `AppliedOffsets.encodeGaps`) per origin partition, space-separated (what a changelog record carries in
   * `rivulet-applied-origins`), without the origins of `later` (applied after the change it is for).
   */
  encodeWithout(later: readonly HopOrigin[]): string {
    let text = '';
    for (const [id, origin] of this.#origins) {
      let applied = origin.applied;
      for (const hop of later) {
        if (hop.id !== id) continue;
        if (applied === origin.applied) applied = applied.clone();
        applied.delete(hop.offset);
      }
      text += `${text === '' ? '' : ' '}${id}=${applied.encodeGaps()}`;
    }
    return text;
  }

  /** Parses {@link encodeWithout}'s text; undefined when it is not such a text. */
  static decode(text: string): OriginOffsets | undefined {
    const offsets = new OriginOffsets();
    if (text === '') return offsets;
    for (const part of text.split(' ')) {
      const at = part.lastIndexOf('=');
      const applied = at > 0 ? AppliedOffsets.decodeGaps(part.slice(at + 1)) : undefined;
      if (!applied) return undefined;
      offsets.#origins.set(part.slice(0, at), { applied, floors: [] });
    }
    return offsets;
  }

  #origin(id: string): Origin {
    let origin = this.#origins.get(id);
    if (!origin) {
      origin = { applied: new AppliedOffsets(), floors: [] };
      this.#origins.set(id, origin);
    }
    return origin;
  }
}
