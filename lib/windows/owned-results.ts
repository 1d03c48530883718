import { type SchedulerLike, Subscription, defer, lastValueFrom } from 'rxjs';
import { type ErrorPolicy, backoffDelay, isRetriable } from '../core/error-policy.js';
import { Lineage, type LineageOwner } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import { redactError } from '../core/redact.js';
import { retryWithBackoff } from '../core/retry.js';
import { type AgentSinkHealth, SinkHealthRegistry } from '../core/sink-health.js';
import { DEAD_LETTER_HEADERS } from '../agent/dead-letter.js';
import { SinkError } from '../sinks/sink-error.js';
import type { ProducerRecord, Transport } from '../transports/transport.js';
import type { AgentScope } from '../agent/partition-resources.js';

/** What an operator emitting owned results (`aggregateWindows`, `windowJoin`) gives its state while it runs. @internal */
export interface ResultBinding<M> {
  emit(message: M): void;
  readonly scheduler: SchedulerLike;
  /** The agent, or undefined under test. */
  readonly scope: AgentScope | undefined;
}

/** A result kept in state until it settles downstream: a window's final result, a join's match. @internal */
export interface OwnedResult {
  readonly partition: number;
  /** Attempts made (a sink's own retries count), for the retry budget. */
  attempts: number;
  firstFailedAt: number | undefined;
  /** Settled or dead-lettered: it is being removed from the state. */
  handled: boolean;
  /** The lineage of its latest emit (an older one's outcome is ignored). */
  lineage: unknown;
}

/** What {@link OwnedResults} needs from the state that keeps the results. @internal */
export interface OwnedResultsHost<R extends OwnedResult, M> {
  /** The state's name (a windowed table's, a join's), in logs and dead-letter headers. */
  readonly table: string;
  /** What a result is called in logs: 'final window result', 'join result'. */
  readonly noun: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  binding(): ResultBinding<M> | undefined;
  /** Whether the result is still pending here (its partition not moved away, nor away and back). */
  owns(result: R): boolean;
  /** The result is settled (or dead-lettered): delete it from the state. */
  remove(result: R): void;
  /** The result's message, holding `lineage`, on `topic` (the agent's). */
  message(topic: string, result: R, lineage: Lineage): M;
  /** Where the result is, for logs. */
  where(result: R): Record<string, unknown>;
  /** The dead-letter record's key, value and extra headers. */
  deadLetter(result: R): { key: Buffer; value: Buffer; headers: Record<string, string> };
  /** The agent's failure under `onFailure: 'stop'` when the result failed for good. */
  failure(result: R, cause: unknown): Error;
}

const DEAD_LETTER_RETRIES = 4;

/**
 * The owner of results' lineages: a result (a window's final result, a join's match) stands for no
 * source record, so its outcome comes here instead of to the agent. Settled: it is removed from the
 * state. Failed: under the agent's error policy, as a record would be: retried after a backoff while
 * the retry budget lasts (a sink's own attempts count); while the failing sink has written nothing
 * since, it is an outage and the result waits, retried at each backoff step; otherwise it goes to the
 * dead-letter topic (as JSON, described in headers) and is removed; or, with `onFailure: 'stop'`, the
 * agent fails and the result stays, so the next run emits it again.
 * @internal
 */
export class OwnedResults<R extends OwnedResult, M> implements LineageOwner {
  #emitted = 0;
  #settled = 0;
  #deadLettered = 0;
  #timers = new Subscription();
  /** Where sinks report under test (no agent): this state's own, shared with nothing. */
  #localHealth: AgentSinkHealth | undefined;

  constructor(private readonly host: OwnedResultsHost<R, M>) {}

  get accepting(): boolean {
    return this.host.binding() !== undefined;
  }

  /** The agent's sink health (a sink writing results reports there, as for its records), or a local one. */
  get sinkHealth(): AgentSinkHealth {
    const health = this.host.binding()?.scope?.sinkHealth;
    if (health) return health;
    this.#localHealth ??= new SinkHealthRegistry().forAgent(this.host.table);
    return this.#localHealth;
  }

  counts(): { emitted: number; settled: number; resultsDeadLettered: number } {
    return { emitted: this.#emitted, settled: this.#settled, resultsDeadLettered: this.#deadLettered };
  }

  /** Hands a result downstream with a fresh lineage (later, when no subscription runs). */
  emit(result: R): void {
    const binding = this.host.binding();
    if (!binding) return;
    const lineage = new Lineage(this, result);
    result.lineage = lineage;
    this.#emitted++;
    lineage.retain(); // as an agent's push: a result reused while it is emitted fails, never settles early
    binding.emit(this.host.message(binding.scope?.topic ?? '', result, lineage));
    lineage.release();
  }

  attemptsLeft(lineage: Lineage): number | undefined {
    const result = lineage.token as R;
    return Math.max(0, this.#policy().retries + 1 - result.attempts);
  }

  onSettled(lineage: Lineage): void {
    const result = this.#current(lineage);
    if (!result) return;
    this.#settled++;
    this.host.remove(result);
  }

  onFailed(lineage: Lineage, error: unknown): void {
    const result = this.#current(lineage);
    const binding = this.host.binding();
    if (!result || !binding) return; // stopping: emitted again by the next run
    result.lineage = undefined;
    result.attempts += error instanceof SinkError ? Math.max(1, error.attempts) : 1;
    result.firstFailedAt ??= binding.scheduler.now();
    const policy = this.#policy();
    const retriable = isRetriable(error);
    const where = { table: this.host.table, ...this.host.where(result) };
    if (retriable && result.attempts <= policy.retries) return this.#later(result, error);
    if (
      retriable &&
      error instanceof SinkError &&
      !this.sinkHealth.succeededSince(error.sink, result.firstFailedAt)
    ) {
      this.host.logger.warn({ ...where, err: error }, `a ${this.host.noun} waits for its sink to come back`);
      return this.#later(result, error);
    }
    const scope = binding.scope;
    if (scope?.errors.onFailure === 'stop') {
      // As for a record: the agent fails, the result stays, and the next run emits it again.
      this.host.logger.warn(
        { ...where, attempts: result.attempts, err: error },
        `a ${this.host.noun} failed for good; policy: stop`,
      );
      scope.fail(this.host.failure(result, error));
      return;
    }
    this.host.logger.warn(
      { ...where, attempts: result.attempts, err: error },
      `a ${this.host.noun} failed for good; dead-lettering it`,
    );
    void this.#deadLetter(result, error, binding);
  }

  /** A result's message used again after the result was done: logged (too late to fail it). */
  onReused(lineage: Lineage, error: unknown): void {
    const result = lineage.token as R;
    this.host.logger.error(
      { table: this.host.table, ...this.host.where(result), err: error },
      `a ${this.host.noun} was used again after it was done`,
    );
  }

  /** The subscription ended: pending retries are dropped (results are emitted again at the next one). */
  unbound(): void {
    this.#timers.unsubscribe();
    this.#timers = new Subscription();
  }

  #current(lineage: Lineage): R | undefined {
    const result = lineage.token as R;
    if (result.lineage !== lineage || result.handled) return undefined;
    return this.host.owns(result) ? result : undefined;
  }

  #policy(): { retries: number } & ErrorPolicy {
    const errors = this.host.binding()?.scope?.errors ?? {};
    return { ...errors, retries: errors.retries ?? 3 };
  }

  #later(result: R, error: unknown): void {
    const binding = this.host.binding()!;
    const delay = backoffDelay(this.#policy().backoff ?? {}, result.attempts);
    this.host.logger.debug({ table: this.host.table, delay, err: error }, `retrying a ${this.host.noun}`);
    const timer = binding.scheduler.schedule(() => {
      this.#timers.remove(timer);
      if (result.lineage === undefined && !result.handled && this.host.owns(result)) this.emit(result);
    }, delay);
    this.#timers.add(timer);
  }

  async #deadLetter(result: R, error: unknown, binding: ResultBinding<M>): Promise<void> {
    const scope = binding.scope;
    if (!scope) {
      // Under test, no dead-letter topic to use: the result stays, and is tried again later.
      this.host.logger.error({ table: this.host.table, err: error }, `a ${this.host.noun} keeps failing`);
      return this.#later(result, error);
    }
    const { name, message } = redactError(error);
    const { key, value, headers } = this.host.deadLetter(result);
    const record: ProducerRecord = {
      topic: scope.errors.deadLetterTopic ?? `${scope.topic}.dlq`,
      key,
      value,
      headers: {
        [DEAD_LETTER_HEADERS.error]: message.slice(0, 4096),
        [DEAD_LETTER_HEADERS.errorName]: name,
        [DEAD_LETTER_HEADERS.agent]: scope.agent,
        [DEAD_LETTER_HEADERS.topic]: scope.topic,
        [DEAD_LETTER_HEADERS.partition]: String(result.partition),
        [DEAD_LETTER_HEADERS.attempts]: String(result.attempts),
        ...headers,
      },
    };
    try {
      const transport = await this.host.transport();
      await lastValueFrom(
        defer(() => transport.produce([record])).pipe(
          retryWithBackoff(
            { retries: DEAD_LETTER_RETRIES, backoff: scope.errors.backoff ?? {}, retriable: () => true },
            binding.scheduler,
          ),
        ),
      );
      this.#deadLettered++;
      this.host.remove(result);
    } catch (produceError) {
      this.host.logger.error(
        { table: this.host.table, err: produceError },
        `could not dead-letter a ${this.host.noun}; trying again later`,
      );
      if (this.host.binding() === binding) this.#later(result, error);
    }
  }
}
