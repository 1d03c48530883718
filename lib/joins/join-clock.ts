import type { MessageHeaders } from '../core/message.js';
import type { IdleCloserHost } from '../windows/idle-closer.js';
import type { ResultBinding } from '../windows/owned-results.js';
import { PartitionTimers } from '../windows/partition-timers.js';
import { EventTimePartition } from '../windows/window-partition.js';
import type { Side } from './join-state.js';

/**
 * Changelog header of a stream join's records (besides the watermark): the highest event time seen
 * from each side in the partition, as JSON `{"left":…,"right":…}` (a side not seen yet is absent), so
 * a new owner resumes with the same stream time per side.
 *
 * @example
 * ```ts
 * const times = JSON.parse(record.headers[JOIN_TIMES_HEADER]) as { left?: number; right?: number };
 * ```
 */
export const JOIN_TIMES_HEADER = 'rivulet-join-times';

/** What a partition knows of one side. */
interface SideClock {
  /** Highest event time seen from this side. */
  max: number;
  /** Wall-clock time `max` was reached. */
  maxAt: number;
  /** Wall-clock time the side's last record arrived. */
  lastAt: number;
  /** Idle: received nothing for `idleAfterMs` while the partition was read past what was written then. */
  idle: boolean;
  /** The partition's end offset once the side had been silent for `idleAfterMs`: read past it with nothing from the side, the side is idle. */
  idleFrom: number | undefined;
}

const SIDES: readonly Side[] = ['left', 'right'];

/**
 * One partition of a stream join's topic on this worker. Stream time is per side: the lowest of the
 * two sides' highest event times, so that a side copied ahead of the other does not make the other's
 * records late. A side not seen yet, or idle, does not hold it back. It never moves back (a side seen
 * again after being idle, or for the first time, finds it where it is).
 * @internal
 */
export class JoinPartition<K, R> extends EventTimePartition<K, R> {
  readonly sides: Record<Side, SideClock>;

  constructor(partition: number, grace: number, now: number) {
    super(partition, grace, now);
    const clock = (): SideClock => ({
      max: Number.NEGATIVE_INFINITY,
      maxAt: now,
      lastAt: now,
      idle: false,
      idleFrom: undefined,
    });
    this.sides = { left: clock(), right: clock() };
  }

  /** A record of `side` at event time `t` was applied: stream time moves (and the other side may turn idle). */
  observeSide(side: Side, t: number, now: number): void {
    const own = this.sides[side];
    own.lastAt = now;
    own.idle = false;
    own.idleFrom = undefined;
    if (t > own.max) {
      own.max = t;
      own.maxAt = now;
    }
    const other = this.sides[side === 'left' ? 'right' : 'left'];
    if (other.idleFrom !== undefined && this.nextOffset >= other.idleFrom) {
      other.idle = true;
      other.idleFrom = undefined;
    }
    this.observe(this.sideTime, now);
  }

  /** The stream time the sides allow: the lowest highest event time of the sides seen and not idle. */
  get sideTime(): number {
    const { left, right } = this.sides;
    const leftHolds = left.max > Number.NEGATIVE_INFINITY && !left.idle;
    const rightHolds = right.max > Number.NEGATIVE_INFINITY && !right.idle;
    if (leftHolds && rightHolds) return Math.min(left.max, right.max);
    if (leftHolds) return left.max;
    if (rightHolds) return right.max;
    return Math.max(left.max, right.max); // both idle (or not seen): the furthest
  }

  /** The side holding stream time back (seen, not idle, behind the other), if one does. */
  get laggard(): Side | undefined {
    const { left, right } = this.sides;
    if (left.max === right.max || left.idle || right.idle) return undefined;
    const behind = left.max < right.max ? 'left' : 'right';
    return this.sides[behind].max === Number.NEGATIVE_INFINITY ? undefined : behind;
  }

  /** The sides' highest event times, as the changelog carries them. */
  timesHeader(): MessageHeaders {
    const times: Partial<Record<Side, number>> = {};
    for (const side of SIDES)
      if (this.sides[side].max > Number.NEGATIVE_INFINITY) times[side] = this.sides[side].max;
    return { [JOIN_TIMES_HEADER]: JSON.stringify(times) };
  }

  /** The sides' highest event times restored from the changelog (an older changelog has none). */
  restoreSides(headers: MessageHeaders | undefined, now: number): void {
    const raw = headers?.[JOIN_TIMES_HEADER];
    if (raw === undefined) return;
    let times: Partial<Record<Side, unknown>>;
    try {
      times = JSON.parse(raw) as Partial<Record<Side, unknown>>;
    } catch {
      return;
    }
    for (const side of SIDES) {
      const t = times[side];
      if (typeof t === 'number' && Number.isFinite(t))
        Object.assign(this.sides[side], { max: t, maxAt: now });
    }
  }

  /**
   * An idle partition (both sides idle) follows the wall clock from the furthest side: event time
   * moved on at the wall clock's pace since that side's highest event time.
   */
  override idleWatermark(now: number): number {
    let furthest = super.idleWatermark(now);
    for (const side of SIDES) {
      const s = this.sides[side];
      if (s.max > Number.NEGATIVE_INFINITY)
        furthest = Math.max(furthest, s.max + (now - s.maxAt) - this.grace);
    }
    return furthest;
  }

  override wallTimeOf(time: number): number {
    let first = super.wallTimeOf(time);
    for (const side of SIDES) {
      const s = this.sides[side];
      if (s.max > Number.NEGATIVE_INFINITY) first = Math.min(first, s.maxAt + (time + this.grace - s.max));
    }
    return first;
  }
}

/** What a {@link SideIdler} needs from its stream join (what an idle closer needs, but closing). @internal */
export type SideIdlerHost<P extends JoinPartition<unknown, unknown>> = Omit<
  IdleCloserHost<P>,
  'writeWatermark' | 'closeDue'
>;

/**
 * Idle sides. When a side holds a partition's stream time back and has sent nothing for `idleAfterMs`,
 * the partition's end offset is noted: once the partition is read up to it with still nothing from that
 * side, the side is idle (it wrote nothing in that time) and stops holding stream time back, until its
 * next record. One timer per partition, armed only while a side holds stream time back.
 * @internal
 */
export class SideIdler<P extends JoinPartition<unknown, unknown>> {
  readonly #timers = new PartitionTimers<P, Side>();

  constructor(private readonly host: SideIdlerHost<P>) {}

  /** Looks at the side holding `part` back once it has been silent for `idleAfterMs` (not before `notBefore`). */
  arm(part: P, notBefore = Number.NEGATIVE_INFINITY): void {
    const binding = this.host.binding();
    const side = part.laggard;
    if (!binding || side === undefined || part.sides[side].idleFrom !== undefined) return;
    const at = Math.max(part.sides[side].lastAt + this.host.idleAfterMs, notBefore);
    const armed = this.#timers.armed(part);
    if (armed && armed.tag === side && armed.at <= at) return; // it looks again then
    this.#timers.set(part, at, side, binding.scheduler, () => this.#probe(part, side, binding));
  }

  /** Cancels every timer (the subscription ended); partitions are armed again by the next records. */
  stop(): void {
    this.#timers.stop();
  }

  #probe(part: P, side: Side, binding: ResultBinding<never>): void {
    const live = (): boolean => this.host.binding() === binding && this.host.owns(part);
    const clock = part.sides[side];
    if (!live() || part.laggard !== side) return;
    const lastAt = clock.lastAt;
    if (binding.scheduler.now() - lastAt < this.host.idleAfterMs) return this.arm(part);
    const note = (end: number): void => {
      if (live() && clock.lastAt === lastAt && part.laggard === side) clock.idleFrom = end;
    };
    // Under test (no agent) every record written has reached the operator.
    if (!binding.scope) return note(part.nextOffset);
    const topic = binding.scope.topic;
    void this.host
      .transport()
      .then((transport) => transport.endOffsets(topic))
      .then(
        (ends) => note(ends.find((e) => e.partition === part.partition)?.offset ?? 0),
        (error: unknown) => {
          this.host.logger.debug({ table: this.host.name, err: error }, 'could not read an end offset');
          if (live()) this.arm(part, binding.scheduler.now() + this.host.idleAfterMs);
        },
      );
  }
}
