import { type SchedulerLike, Subscription, asyncScheduler, defer, lastValueFrom } from 'rxjs';
import { type ErrorPolicy, backoffDelay, isRetriable } from '../core/error-policy.js';
import { AgentFailedError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retryWithBackoff } from '../core/retry.js';
import type { AgentSinkHealth } from '../core/sink-health.js';
import { SinkError } from '../sinks/sink-error.js';
import type { Transport } from '../transports/transport.js';
import { deadLetterRecord } from './dead-letter.js';
import type { Ledger } from './ledger.js';
import { Outage } from './outage.js';
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
  /** The agent's sinks in its app's sink health: whether a sink wrote since tells an outage from bad input. */
  readonly sinkHealth: AgentSinkHealth;
}

const DEAD_LETTER_RETRIES = 4;

/**
 * What happens to a record whose processing failed, under one retry budget per record: attempts made
 * inside a sink count against it. While the budget lasts the record goes through the pipeline again
 * after a backoff. When it is spent: if the failing sink has not written anything since the record first
 * failed, the sink is down (an outage, not bad input) and the record is held ({@link Outage}).
 * Otherwise the record is dead-lettered (or, with `onFailure: 'stop'`, the agent fails). Nothing is
 * settled here except after a dead letter was written.
 * @internal
 */
export class FailureHandler {
  readonly #policy: Required<Pick<ErrorPolicy, 'retries' | 'onFailure'>> & ErrorPolicy;
  readonly #deadLetterTopic: string;
  readonly #scheduler: SchedulerLike;
  readonly #timers = new Subscription();
  readonly #outage: Outage;
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
    this.#outage = new Outage(
      {
        name: host.name,
        logger: host.logger,
        ledger: host.ledger,
        live: (entry) => this.#live(entry),
        repush: (entry) => host.repush(entry),
        after: (delay, action) => this.#after(delay, action),
        sinkHealth: host.sinkHealth,
      },
      this.#policy.backoff ?? {},
      this.#scheduler,
    );
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
    return this.#outage.held;
  }
  /** Whether a sink is down for this agent now (its writes under way are only tries). */
  get outage(): boolean {
    return this.#outage.active;
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
    this.#outage.failed(entry);
    if (!this.host.running()) {
      entry.stage = 'abandoned'; // left unsettled: delivered again after a restart
      return;
    }
    const retriable = isRetriable(error) && entry.decoded !== undefined;
    if (retriable && entry.attempts <= this.#policy.retries) this.#retry(entry, error);
    else if (retriable && this.#isOutage(entry, error)) this.#outage.hold(entry, error as SinkError);
    else this.#giveUp(entry, error);
    this.#outage.check();
  }

  /** A record settled: if it was the try of an outage, the sink is back. */
  settled(entry: Entry): void {
    this.#outage.settled(entry);
  }

  /** Partitions were revoked: their held records are no longer ours. */
  revoked(): void {
    this.#outage.revoked();
  }

  /** Cancels every timer (the agent stops); held and retrying records stay unsettled. */
  stop(): void {
    this.#timers.unsubscribe();
    this.#outage.stop();
  }

  #isOutage(entry: Entry, error: unknown): boolean {
    return (
      error instanceof SinkError && !this.host.sinkHealth.succeededSince(error.sink, entry.firstFailedAt ?? 0)
    );
  }

  #giveUp(entry: Entry, error: unknown): void {
    const position = { topic: entry.tracker.topic, partition: entry.tracker.partition, offset: entry.offset };
    this.host.logger.warn(
      { agent: this.host.name, ...position, attempts: entry.attempts, err: error },
      `processing failed for good; policy: ${this.#policy.onFailure}`,
    );
    if (this.#policy.onFailure === 'stop')
      this.host.fail(new AgentFailedError(this.host.name, position, error));
    else void this.#deadLetter(entry, error);
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
