import type { SchedulerLike, Subscription } from 'rxjs';
import { type Backoff, backoffDelay } from '../core/error-policy.js';
import type { Logger } from '../core/logger.js';
import type { SinkError } from '../sinks/sink-error.js';
import { type AgentSinkHealth, errorLine } from '../core/sink-health.js';
import type { Ledger } from './ledger.js';
import type { Entry } from './partition-tracker.js';

/** What an {@link Outage} needs from its agent. @internal */
export interface OutageHost {
  readonly name: string;
  readonly logger: Logger;
  readonly ledger: Ledger;
  /** Whether the record may still be handed to the pipeline (running, not settled, not revoked). */
  live(entry: Entry): boolean;
  repush(entry: Entry): void;
  /** Runs `action` after `delay` ms on the agent's timers (cancelled when the agent stops). */
  after(delay: number, action: () => void): Subscription;
  /** The agent's sinks in its app's sink health (whether the sink wrote meanwhile, its last error). */
  readonly sinkHealth: AgentSinkHealth;
}

/** The longest wait between two tries of a held record while its sink is down. */
const PROBE_MAX_DELAY_MS = 5000;

/**
 * A sink that writes nothing (its server is down): the records that spent their retry budget on it are
 * held, intake stops (the ledger holds), and one held record is tried again per backoff step (at most
 * 5 s apart), logged once per step. When a try goes through, or the sink wrote anything meanwhile, every
 * held record goes back to the pipeline with a fresh budget and intake resumes.
 * @internal
 */
export class Outage {
  readonly #held = new Set<Entry>();
  #probe: Subscription | undefined;
  #probing: Entry | undefined;
  #probes = 0;
  #since = 0;
  #sink = '';

  constructor(
    private readonly host: OutageHost,
    private readonly backoff: Backoff,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Records held now. */
  get held(): number {
    return this.#held.size;
  }

  /** Whether a sink is down for this agent now. */
  get active(): boolean {
    return this.#since !== 0;
  }

  /** Holds a record whose budget is spent on a sink that writes nothing. */
  hold(entry: Entry, error: SinkError): void {
    entry.stage = 'held';
    this.#held.add(entry);
    this.#sink = error.sink;
    if (this.#since === 0) {
      this.#since = this.scheduler.now();
      this.#probes = 0;
      this.host.ledger.hold(true);
    }
    if (this.#probe || this.#probing) return;
    const delay = Math.min(PROBE_MAX_DELAY_MS, backoffDelay(this.backoff, ++this.#probes));
    this.host.logger.warn(
      { agent: this.host.name, sink: error.sink, held: this.#held.size, delayMs: Math.round(delay) },
      `${error.sink} sink failing: ${errorLine(error.cause)}; ${this.host.name} paused, retrying in ${(delay / 1000).toFixed(1)} s`,
    );
    this.#probe = this.host.after(delay, () => this.#tryOne());
  }

  /** A record failed: if it was the record being tried, that try is over. */
  failed(entry: Entry): void {
    if (entry === this.#probing) this.#probing = undefined;
  }

  /** A record settled: if it was the record being tried, the sink is back. */
  settled(entry: Entry): void {
    if (entry !== this.#probing) return;
    this.#probing = undefined;
    this.#end();
  }

  /**
   * After a failure was dealt with otherwise than by holding (the try was dead-lettered, its partition
   * revoked…): keep trying the rest, or end the outage if nothing is held or the sink wrote meanwhile.
   */
  check(): void {
    if (this.#since === 0 || this.#probe || this.#probing) return;
    for (const entry of this.#held) if (!this.host.live(entry)) this.#held.delete(entry);
    if (this.#held.size === 0 || this.#wroteSince()) return this.#end();
    this.#probe = this.host.after(
      Math.min(PROBE_MAX_DELAY_MS, backoffDelay(this.backoff, ++this.#probes)),
      () => this.#tryOne(),
    );
  }

  /** Partitions were revoked: their held records, and a try of one, are no longer ours. */
  revoked(): void {
    if (this.#probing?.tracker.revoked) this.#probing = undefined;
    this.check();
  }

  /** The agent stops: held records stay unsettled (delivered again later). */
  stop(): void {
    this.#probe = undefined;
    for (const entry of this.#held) entry.stage = 'abandoned';
    this.#held.clear();
  }

  #tryOne(): void {
    this.#probe = undefined;
    const next = [...this.#held].find((entry) => this.host.live(entry));
    if (!next || this.#wroteSince()) return this.#end();
    this.#held.delete(next);
    this.#probing = next;
    this.host.repush(next);
    this.#remind(next);
  }

  /** A try can hang (a client queueing while disconnected): still say, once per step, that the sink is down. */
  #remind(probe: Entry): void {
    const delay = Math.min(PROBE_MAX_DELAY_MS, backoffDelay(this.backoff, this.#probes + 1));
    this.host.after(delay, () => {
      if (this.#probing !== probe || this.#since === 0) return;
      this.#probes++;
      const health = this.host.sinkHealth.get(this.#sink);
      const seconds = ((this.scheduler.now() - this.#since) / 1000).toFixed(0);
      this.host.logger.warn(
        { agent: this.host.name, sink: this.#sink, held: this.#held.size + 1, downForS: Number(seconds) },
        `${this.#sink} sink still failing after ${seconds} s: ${health?.lastError ?? 'no answer'}; ${this.host.name} paused, a try is under way`,
      );
      this.#remind(probe);
    });
  }

  /** Whether the failing sink wrote (for this agent) since the outage began. */
  #wroteSince(): boolean {
    return this.host.sinkHealth.succeededSince(this.#sink, this.#since);
  }

  #end(): void {
    if (this.#since === 0) return;
    const pausedMs = this.scheduler.now() - this.#since;
    this.#since = 0;
    this.#probe?.unsubscribe();
    this.#probe = undefined;
    const held = [...this.#held];
    this.#held.clear();
    this.host.logger.info(
      { agent: this.host.name, sink: this.#sink, pausedMs, resumed: held.length },
      `${this.#sink} sink writes again: ${this.host.name} resumed after ${(pausedMs / 1000).toFixed(1)} s`,
    );
    for (const entry of held) {
      // A fresh budget; the first failure's time stays, so a record that keeps failing now that the sink
      // writes again is bad input (dead-lettered), not an outage.
      entry.attempts = 0;
      if (this.host.live(entry)) this.host.repush(entry);
    }
    this.host.ledger.hold(false);
  }
}
