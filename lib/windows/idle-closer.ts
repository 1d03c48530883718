import type { Logger } from '../core/logger.js';
import type { AgentScope } from '../agent/partition-resources.js';
import type { Transport } from '../transports/transport.js';
import type { ResultBinding } from './owned-results.js';
import type { EventTimePartition } from './window-partition.js';
import { PartitionTimers } from './partition-timers.js';

/** What an {@link IdleCloser} needs from its windowed table (or stream join). @internal */
export interface IdleCloserHost<P extends EventTimePartition<unknown, unknown>> {
  readonly name: string;
  readonly logger: Logger;
  readonly idleAfterMs: number;
  binding(): ResultBinding<never> | undefined;
  /** Whether the partition is still this worker's, as this object. */
  owns(part: P): boolean;
  transport(): Promise<Transport>;
  /** Writes `watermark` to the partition's changelog; `then(true)` once durable. */
  writeWatermark(part: P, watermark: number, then: (durable: boolean) => void): void;
  /** Closes what the partition's durable watermark has passed. */
  closeDue(part: P): void;
}

/**
 * Closing by the wall clock. Once a partition has received nothing for `idleAfterMs` and has caught up
 * with its topic (every record up to the end offset reached the operator or was committed), its
 * watermark follows the wall clock: event time moves on at the wall clock's pace from the highest event
 * time seen. The new watermark is written to the changelog before anything closes, so a crash never
 * brings back a window it closed nor makes a record it judged late on time. One timer per partition,
 * armed only while something is due (none in a marble test once every window closed).
 * @internal
 */
export class IdleCloser<P extends EventTimePartition<unknown, unknown>> {
  readonly #timers = new PartitionTimers<P>();

  constructor(private readonly host: IdleCloserHost<P>) {}

  /**
   * Looks at the partition when its first due window could close by the wall clock. A timer already
   * armed for later (event time moved on, or an earlier window became due) is brought forward to the
   * time the partition could first be idle, not to that window's time: while records flow, event time
   * moves that time earlier with nearly every record, and the look then re-arms once per
   * `idleAfterMs` instead of once per record.
   */
  arm(part: P): void {
    const binding = this.host.binding();
    const due = part.nextDue;
    if (!binding || due === undefined || part.probing) return;
    if (part.maxTime === Number.NEGATIVE_INFINITY) return; // no event time yet: records will move it
    const quietAt = part.lastRecordAt + this.host.idleAfterMs;
    const at = Math.max(quietAt, part.wallTimeOf(due));
    const armed = this.#timers.armed(part);
    if (armed && armed.at <= at) return;
    const when = armed ? quietAt : at;
    this.#timers.set(part, when, undefined, binding.scheduler, () => this.#probe(part, binding));
  }

  /** Cancels every timer (the subscription ended); partitions are armed again by the next one. */
  stop(): void {
    this.#timers.stop();
  }

  #probe(part: P, binding: ResultBinding<never>): void {
    const live = (): boolean => this.host.binding() === binding && this.host.owns(part);
    const again = (): void => {
      part.probing = false;
      if (live()) this.arm(part);
    };
    if (!live()) return;
    part.probing = true;
    const now = binding.scheduler.now();
    const due = part.nextDue;
    if (due === undefined || now - part.lastRecordAt < this.host.idleAfterMs || due > part.idleWatermark(now))
      return again();
    const advance = (caughtUp: boolean): void => {
      if (!live()) return;
      if (!caughtUp) {
        part.lastRecordAt = binding.scheduler.now(); // look again in idleAfterMs
        return again();
      }
      const watermark = Math.max(part.watermark, part.idleWatermark(binding.scheduler.now()));
      this.host.writeWatermark(part, watermark, (durable) => {
        if (durable && this.host.owns(part)) {
          part.floor = Math.max(part.floor, watermark);
          part.durable = Math.max(part.durable, watermark);
          this.host.closeDue(part);
        }
        again();
      });
    };
    // Under test (no agent) a partition has always caught up: all of it happens in virtual time.
    if (!binding.scope) advance(true);
    else void this.#caughtUp(part, binding.scope).then(advance);
  }

  /** Whether every record of the partition's topic has reached the operator (or was committed). */
  async #caughtUp(part: P, scope: AgentScope): Promise<boolean> {
    try {
      const transport = await this.host.transport();
      const [ends, committed] = await Promise.all([
        transport.endOffsets(scope.topic),
        transport.committedOffsets(scope.group, scope.topic),
      ]);
      const end = ends.find((e) => e.partition === part.partition)?.offset ?? 0;
      const done = committed.find((c) => c.partition === part.partition)?.offset ?? 0;
      return Math.max(part.nextOffset, done) >= end;
    } catch (error) {
      this.host.logger.debug(
        { table: this.host.name, err: error },
        'could not tell whether a partition caught up',
      );
      return false;
    }
  }
}
