import { type SchedulerLike, type Subscription, asyncScheduler, interval } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { PartitionTracker } from './partition-tracker.js';

/**
 * Warns when a partition's oldest unsettled record has waited longer than a threshold: the sign of a
 * message lost inside a pipeline (a plain `filter` instead of `filterValue`) or of a sink that hangs.
 * Warns once per stuck offset, naming topic, partition and offset. Checks run on `scheduler`, whose clock
 * is the one records' `receivedAt` was read from (virtual under `TestScheduler.run`).
 * @internal
 */
export class StallDetector {
  readonly #warned = new Map<PartitionTracker, number>();
  #timer: Subscription | undefined;

  constructor(
    private readonly agent: string,
    private readonly trackers: () => Iterable<PartitionTracker>,
    private readonly logger: Logger,
    private readonly thresholdMs: number,
    private readonly scheduler: SchedulerLike = asyncScheduler,
    /** True while a sink is down: the outage is reported on its own, records wait for it on purpose. */
    private readonly outage: () => boolean = () => false,
  ) {}

  start(): void {
    if (this.thresholdMs <= 0 || !Number.isFinite(this.thresholdMs)) return;
    const everyMs = Math.max(10, Math.min(this.thresholdMs / 2, 5000));
    this.#timer?.unsubscribe();
    this.#timer = interval(everyMs, this.scheduler).subscribe(() => this.check());
  }

  stop(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }

  /** Looks at every partition once; returns how many warnings it logged. */
  check(): number {
    let warnings = 0;
    if (this.outage()) return 0;
    const now = this.scheduler.now();
    for (const tracker of this.trackers()) {
      const oldest = tracker.oldest;
      if (!oldest || tracker.revoked) continue;
      const ageMs = now - oldest.receivedAt;
      if (ageMs < this.thresholdMs || this.#warned.get(tracker) === oldest.offset) continue;
      this.#warned.set(tracker, oldest.offset);
      warnings++;
      this.logger.warn(
        {
          agent: this.agent,
          topic: tracker.topic,
          partition: tracker.partition,
          offset: oldest.offset,
          ageMs,
          attempts: oldest.attempts,
        },
        `stalled: ${tracker.topic}[${tracker.partition}]@${oldest.offset} unsettled for ${ageMs} ms; commits of this partition wait for it`,
      );
    }
    return warnings;
  }
}
