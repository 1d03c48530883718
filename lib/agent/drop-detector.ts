import { type SchedulerLike, type Subscription, asyncScheduler, interval } from 'rxjs';
import type { Lineage } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import type { Entry } from './partition-tracker.js';

/** How often suspects are looked at, in ms. */
const CHECK_INTERVAL_MS = 1000;
/** Records watched per check interval at most: every record of a quiet agent, a sample of a busy one. */
const WATCHED_PER_INTERVAL = 1000;

/**
 * Reports a record whose messages all left the pipeline without settling it: a plain `filter` that
 * dropped it (where `filterValue` settles what it drops), a `map` to something else, an operator that
 * swallowed it. Nothing but the pipeline's messages (and operators holding their references) keeps a
 * watched record's lineage alive, since its entry then holds it weakly; so a lineage garbage-collected
 * while its record is unsettled and in the pipeline can never settle. The collection is seen through a
 * `FinalizationRegistry`; a periodic check on the agent's scheduler confirms it (the record is still in
 * the pipeline, with no newer attempt, at two checks in a row, so a restart in progress is no drop) and
 * warns once per record, naming it. Reported at the first garbage collection after the drop, so usually
 * within seconds under load, long before the stall warning. Watches every record of an agent up to 1000
 * a second, a sample of them beyond (a plain filter drops many: some of them are in the sample).
 * @internal
 */
export class DropDetector {
  readonly #registry = new FinalizationRegistry<Entry>((entry) => {
    if (!entry.settled) this.#collected.push(entry);
  });
  #collected: Entry[] = [];
  #suspects: Entry[] = [];
  #timer: Subscription | undefined;
  #budget: number;

  constructor(
    private readonly agent: string,
    private readonly logger: Logger,
    private readonly scheduler: SchedulerLike = asyncScheduler,
    private readonly intervalMs: number = CHECK_INTERVAL_MS,
    private readonly perInterval: number = WATCHED_PER_INTERVAL,
  ) {
    this.#budget = perInterval;
  }

  /**
   * Watches the lineage a record was just handed to the pipeline with, while this interval's budget
   * lasts (a weak reference and a finalization cost more than the rest of a record's bookkeeping).
   */
  watch(entry: Entry, lineage: Lineage): void {
    if (this.#budget <= 0) return;
    this.#budget--;
    entry.holdLineageWeakly();
    this.#registry.register(lineage, entry);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = interval(this.intervalMs, this.scheduler).subscribe(() => this.check());
  }

  stop(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#collected = [];
    this.#suspects = [];
  }

  /** Confirms the suspects of the last check that are still lost, and takes the newly collected ones as suspects; returns how many it reported. */
  check(): number {
    this.#budget = this.perInterval;
    let reported = 0;
    for (const entry of this.#suspects) {
      if (!lost(entry)) continue;
      reported++;
      const { topic, partition } = entry.tracker;
      this.logger.warn(
        { agent: this.agent, topic, partition, offset: entry.offset },
        `dropped: ${topic}[${partition}]@${entry.offset} left the pipeline without settling, so commits of ` +
          'this partition wait for it (until a restart delivers it again). A plain filter drops messages ' +
          'without settling them: use filterValue, which settles what it drops (and mapValue instead of a map ' +
          'that returns something else than the message)',
      );
    }
    this.#suspects = this.#collected.filter(lost);
    this.#collected = [];
    return reported;
  }
}

/** The record is in the pipeline, unsettled, and its current attempt's lineage is gone. */
function lost(entry: Entry): boolean {
  return !entry.settled && !entry.tracker.revoked && entry.stage === 'processing' && entry.lineageLost;
}
