import { type SchedulerLike, Subscription, asyncScheduler, defer, lastValueFrom } from 'rxjs';
import { type ErrorPolicy, backoffDelay, isRetriable } from '../core/error-policy.js';
import { AgentFailedError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retryWithBackoff } from '../core/retry.js';
import { SinkError } from '../sinks/sink-error.js';
import { errorLine, sinkSucceededSince } from '../sinks/sink-health.js';
import type { Transport } from '../transports/transport.js';
import { deadLetterRecord } from './dead-letter.js';
import type { Ledger } from './ledger.js';
import type { Entry } from './partition-tracker.js';

/** What the {@link FailureHandler} needs from its agent. @internal */
export interface FailureHost {
  readonly name: string;
  readonly logger: Logger;
  readonly ledger: Ledger;
  /** Whether the agent still processes (false while stopping: failures are then left for redelivery). */
  running(): boolean;
  transport(): Transport;
  /** Hands a record to the pipeline again. */
  repush(entry: Entry): void;
  /** The agent cannot go on. */
  fail(error: AgentFailedError): void;
  /** A dead letter finished (the agent may be draining). */
  drained(): void;
}

const DEAD_LETTER_RETRIES = 4;
/** The longest wait between two tries of a held record while its sink is down. */
const PROBE_MAX_DELAY_MS = 5000;

/**
 * What happens to a record whose processing failed, under one retry budget per record: attempts made
 * inside a sink count against it. While the budget lasts the record goes through the pipeline again
 * after a backoff. When it is spent: if the failing sink has not written anything since the record first
 * failed, the sink is down (an outage, not bad input): the record is held, intake stops, and one held
 * record is tried again per backoff step until it goes through; then every held record is handed back
 * and intake resumes. Otherwise the record is dead-lettered (or, with `onFailure: 'stop'`, the agent
 * fails). Nothing is settled here except after a dead letter was written.
 * @internal
 */
export class FailureHandler {
  readonly #policy: Required<Pick<ErrorPolicy, 'retries' | 'onFailure'>> & ErrorPolicy;
  readonly #deadLetterTopic: string;
  readonly #scheduler: SchedulerLike;
  readonly #timers = new Subscription();
  readonly #held = new Set<Entry>();
  #probe: Subscription | undefined;
  #probing: Entry | undefined;
  #probes = 0;
  #outageSince = 0;
  #pendingDeadLetters = 0;
  #retried = 0;
  #deadLettered = 0;

  constructor(
    private readonly host: FailureHost,
    policy: ErrorPolicy,
    sourceTopic: string,
    scheduler?: SchedulerLike,
  ) {
    this.#policy = { retries: 3, onFailure: 'dead-letter', ...policy };
    this.#deadLetterTopic = this.#policy.deadLetterTopic ?? `${sourceTopic}.dlq`;
    this.#scheduler = scheduler ?? asyncScheduler;
  }

  get deadLetterTopic(): string | undefined {
    return this.#policy.onFailure === 'dead-letter' ? this.#deadLetterTopic : undefined;
  }
  get retried(): number {
    return this.#retried;
  }
  get deadLettered(): number {
    return this.#deadLettered;
  }
  /** Records held while their sink is down. */
  get held(): number {
    return this.#held.size;
  }
  get pendingDeadLetters(): number {
    return this.#pendingDeadLetters;
  }

  /** Attempts the record may still make. */
  attemptsLeft(entry: Entry): number {
    return Math.max(0, this.#policy.retries + 1 - entry.attempts);
  }

  /** A record failed (an attempt's error, a decode error, a throw attributed to it). */
  handle(entry: Entry, error: unknown): void {
    if (entry.settled || entry.tracker.revoked || entry.stage === 'dead-lettering') return;
    entry.attempts += error instanceof SinkError ? Math.max(1, error.attempts) : 1;
    entry.firstFailedAt ??= this.#scheduler.now();
    if (entry === this.#probing) this.#probing = undefined;
    if (!this.host.running()) {
      entry.stage = 'abandoned'; // left unsettled: delivered again after a restart
      return;
    }
    const retriable = isRetriable(error) && entry.message !== undefined;
    if (retriable && entry.attempts <= this.#policy.retries) return this.#retry(entry, error);
    if (retriable && this.#isOutage(entry, error)) return this.#hold(entry, error as SinkError);
    const position = { topic: entry.tracker.topic, partition: entry.tracker.partition, offset: entry.offset };
    this.host.logger.warn(
      { agent: this.host.name, ...position, attempts: entry.attempts, err: error },
      `processing failed for good; policy: ${this.#policy.onFailure}`,
    );
    if (this.#policy.onFailure === 'stop')
      this.host.fail(new AgentFailedError(this.host.name, position, error));
    else void this.#deadLetter(entry, error);
  }

  /** A record settled: if it was the probe of an outage, the sink is back. */
  settled(entry: Entry): void {
    if (entry !== this.#probing) return;
    this.#probing = undefined;
    this.#endOutage();
  }

  /** Partitions were revoked: their held records are no longer ours. */
  revoked(): void {
    for (const entry of this.#held) if (entry.tracker.revoked) this.#held.delete(entry);
    if (this.#held.size === 0 && this.#outageSince !== 0) this.#endOutage();
  }

  /** Cancels every timer (the agent stops); held and retrying records stay unsettled. */
  stop(): void {
    this.#timers.unsubscribe();
    this.#probe = undefined;
    for (const entry of this.#held) entry.stage = 'abandoned';
    this.#held.clear();
  }

  #isOutage(entry: Entry, error: unknown): boolean {
    return error instanceof SinkError && !sinkSucceededSince(error.sink, entry.firstFailedAt ?? 0);
  }

  #retry(entry: Entry, error: unknown): void {
    const delay = backoffDelay(this.#policy.backoff ?? {}, entry.attempts);
    this.#retried++;
    entry.stage = 'retrying';
    this.host.logger.debug(
      { agent: this.host.name, offset: entry.offset, attempts: entry.attempts, delay, err: error },
      'retrying',
    );
    this.#after(delay, () => {
      if (entry.stage === 'retrying' && this.#live(entry)) this.host.repush(entry);
    });
  }

  #hold(entry: Entry, error: SinkError): void {
    entry.stage = 'held';
    this.#held.add(entry);
    if (this.#outageSince === 0) {
      this.#outageSince = this.#scheduler.now();
      this.#probes = 0;
      this.host.ledger.hold(true);
    }
    if (this.#probe || this.#probing) return;
    const delay = Math.min(PROBE_MAX_DELAY_MS, backoffDelay(this.#policy.backoff ?? {}, ++this.#probes));
    this.host.logger.warn(
      { agent: this.host.name, sink: error.sink, held: this.#held.size, delayMs: Math.round(delay) },
      `${error.sink} sink failing: ${errorLine(error.cause)}; ${this.host.name} paused, retrying in ${(delay / 1000).toFixed(1)} s`,
    );
    this.#probe = this.#after(delay, () => {
      this.#probe = undefined;
      const next = [...this.#held].find((held) => this.#live(held));
      if (!next) return this.#endOutage();
      this.#held.delete(next);
      this.#probing = next;
      this.host.repush(next);
    });
  }

  #endOutage(): void {
    if (this.#outageSince === 0) return;
    const pausedMs = this.#scheduler.now() - this.#outageSince;
    this.#outageSince = 0;
    this.#probe?.unsubscribe();
    this.#probe = undefined;
    const held = [...this.#held];
    this.#held.clear();
    this.host.logger.info(
      { agent: this.host.name, pausedMs, resumed: held.length },
      `${this.host.name} resumed: its sink writes again after ${(pausedMs / 1000).toFixed(1)} s`,
    );
    for (const entry of held) {
      entry.attempts = 0;
      entry.firstFailedAt = undefined;
      if (this.#live(entry)) this.host.repush(entry);
    }
    this.host.ledger.hold(false);
  }

  async #deadLetter(entry: Entry, error: unknown): Promise<void> {
    entry.stage = 'dead-lettering';
    const source = { topic: entry.tracker.topic, partition: entry.tracker.partition };
    const record = deadLetterRecord(
      this.#deadLetterTopic,
      this.host.name,
      source,
      entry.record,
      error,
      entry.attempts,
    );
    this.#pendingDeadLetters++;
    try {
      const transport = this.host.transport();
      await lastValueFrom(
        defer(() => transport.produce([record])).pipe(
          retryWithBackoff(
            { retries: DEAD_LETTER_RETRIES, backoff: this.#policy.backoff ?? {}, retriable: () => true },
            this.#scheduler,
          ),
        ),
      );
      this.#deadLettered++;
      this.host.ledger.settle(entry);
    } catch (produceError) {
      this.host.fail(new AgentFailedError(this.host.name, { ...source, offset: entry.offset }, produceError));
    } finally {
      this.#pendingDeadLetters--;
      this.host.drained();
    }
  }

  #live(entry: Entry): boolean {
    return this.host.running() && !entry.settled && !entry.tracker.revoked;
  }

  #after(delay: number, action: () => void): Subscription {
    const timer = this.#scheduler.schedule(() => {
      this.#timers.remove(timer);
      action();
    }, delay);
    this.#timers.add(timer);
    return timer;
  }
}
