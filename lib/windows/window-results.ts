import { type SchedulerLike, Subscription, defer, lastValueFrom } from 'rxjs';
import { Message } from '../core/message.js';
import { type ErrorPolicy, backoffDelay, isRetriable } from '../core/error-policy.js';
import { Lineage, type LineageOwner } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import { redactError } from '../core/redact.js';
import { retryWithBackoff } from '../core/retry.js';
import { type AgentSinkHealth, SinkHealthRegistry } from '../core/sink-health.js';
import { DEAD_LETTER_HEADERS } from '../agent/dead-letter.js';
import { SinkError } from '../sinks/sink-error.js';
import type { ProducerRecord, Transport } from '../transports/transport.js';
import { type PendingResult, type WindowPartition, resultId } from './window-partition.js';
import type { AgentScope } from '../agent/partition-resources.js';
import { WindowResultFailedError } from './window-errors.js';
import type { WindowResult } from './window-types.js';

/** What an `aggregateWindows` subscription gives its table while it runs. @internal */
export interface WindowBinding<K, A> {
  emit(message: Message<WindowResult<K, A>, K>): void;
  readonly scheduler: SchedulerLike;
  /** The agent, or undefined under test. */
  readonly scope: AgentScope | undefined;
}

/** What {@link WindowResults} needs from its table. @internal */
export interface WindowResultsHost<K, A> {
  readonly table: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  binding(): WindowBinding<K, A> | undefined;
  part(partition: number): WindowPartition<K, A> | undefined;
  /** The result is settled (or dead-lettered): delete its window. */
  remove(result: PendingResult<K, A>): void;
  keyBytes(key: K): Buffer;
}

/** Headers a dead-lettered final result carries besides the usual ones. */
export const WINDOW_DEAD_LETTER_HEADERS = {
  table: 'rivulet-window-table',
  start: 'rivulet-window-start',
  end: 'rivulet-window-end',
} as const;

const DEAD_LETTER_RETRIES = 4;

/**
 * The owner of final results' lineages: a final result stands for no source record, so its outcome
 * comes here instead of to the agent. Settled: its window is deleted. Failed: under the agent's error
 * policy, as a record would be: retried after a backoff while the retry budget lasts (a sink's own
 * attempts count); while the failing sink has written nothing since, it is an outage and the result
 * waits, retried at each backoff step; otherwise it goes to the dead-letter topic (as JSON, with the
 * error and the window in headers) and its window is deleted; or, with `onFailure: 'stop'`, the agent
 * fails and the window stays, so the next run emits the result again.
 * @internal
 */
export class WindowResults<K, A> implements LineageOwner {
  #emitted = 0;
  #settled = 0;
  #deadLettered = 0;
  #timers = new Subscription();
  /** Where sinks report under test (no agent): this table's own, shared with nothing. */
  #localHealth: AgentSinkHealth | undefined;

  constructor(private readonly host: WindowResultsHost<K, A>) {}

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
  emit(result: PendingResult<K, A>): void {
    const binding = this.host.binding();
    if (!binding) return;
    const lineage = new Lineage(this, result);
    result.lineage = lineage;
    this.#emitted++;
    lineage.retain(); // as an agent's push: a result reused while it is emitted fails, never settles early
    binding.emit(resultMessage(binding.scope?.topic ?? '', result, lineage));
    lineage.release();
  }

  attemptsLeft(lineage: Lineage): number | undefined {
    const result = lineage.token as PendingResult<K, A>;
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
    const where = {
      table: this.host.table,
      partition: result.partition,
      start: result.start,
      end: result.end,
    };
    if (retriable && result.attempts <= policy.retries) return this.#later(result, error);
    if (
      retriable &&
      error instanceof SinkError &&
      !this.sinkHealth.succeededSince(error.sink, result.firstFailedAt)
    ) {
      this.host.logger.warn(
        { ...where, err: error },
        'a final window result waits for its sink to come back',
      );
      return this.#later(result, error);
    }
    const scope = binding.scope;
    if (scope?.errors.onFailure === 'stop') {
      // As for a record: the agent fails, the window stays, and the next run emits its result again.
      this.host.logger.warn(
        { ...where, attempts: result.attempts, err: error },
        'a final window result failed for good; policy: stop',
      );
      scope.fail(new WindowResultFailedError(this.host.table, result, error));
      return;
    }
    this.host.logger.warn(
      { ...where, attempts: result.attempts, err: error },
      'a final window result failed for good; dead-lettering it',
    );
    void this.#deadLetter(result, error, binding);
  }

  /** A result's message used again after the result was done: logged (too late to fail it). */
  onReused(lineage: Lineage, error: unknown): void {
    const result = lineage.token as PendingResult<K, A>;
    this.host.logger.error(
      {
        table: this.host.table,
        partition: result.partition,
        start: result.start,
        end: result.end,
        err: error,
      },
      'a final window result was used again after it was done',
    );
  }

  /** The subscription ended: pending retries are dropped (results are emitted again at the next one). */
  unbound(): void {
    this.#timers.unsubscribe();
    this.#timers = new Subscription();
  }

  #current(lineage: Lineage): PendingResult<K, A> | undefined {
    const result = lineage.token as PendingResult<K, A>;
    if (result.lineage !== lineage || result.handled) return undefined;
    return this.#owned(result) ? result : undefined;
  }

  /** Whether the result is still its partition's here (not moved away, nor away and back). */
  #owned(result: PendingResult<K, A>): boolean {
    const part = this.host.part(result.partition);
    return part?.results.get(resultId(result.keyId, result.start, result.end)) === result;
  }

  #policy(): { retries: number } & ErrorPolicy {
    const errors = this.host.binding()?.scope?.errors ?? {};
    return { ...errors, retries: errors.retries ?? 3 };
  }

  #later(result: PendingResult<K, A>, error: unknown): void {
    const binding = this.host.binding()!;
    const delay = backoffDelay(this.#policy().backoff ?? {}, result.attempts);
    this.host.logger.debug({ table: this.host.table, delay, err: error }, 'retrying a final window result');
    const timer = binding.scheduler.schedule(() => {
      this.#timers.remove(timer);
      if (result.lineage === undefined && !result.handled && this.#owned(result)) this.emit(result);
    }, delay);
    this.#timers.add(timer);
  }

  async #deadLetter(
    result: PendingResult<K, A>,
    error: unknown,
    binding: WindowBinding<K, A>,
  ): Promise<void> {
    const scope = binding.scope;
    if (!scope) {
      // Under test, no dead-letter topic to use: the window stays, and its result is tried again later.
      this.host.logger.error({ table: this.host.table, err: error }, 'a final window result keeps failing');
      return this.#later(result, error);
    }
    const { name, message } = redactError(error);
    const record: ProducerRecord = {
      topic: scope.errors.deadLetterTopic ?? `${scope.topic}.dlq`,
      key: this.host.keyBytes(result.key),
      value: Buffer.from(
        JSON.stringify({ key: result.key, start: result.start, end: result.end, value: result.value }),
      ),
      headers: {
        [DEAD_LETTER_HEADERS.error]: message.slice(0, 4096),
        [DEAD_LETTER_HEADERS.errorName]: name,
        [DEAD_LETTER_HEADERS.agent]: scope.agent,
        [DEAD_LETTER_HEADERS.topic]: scope.topic,
        [DEAD_LETTER_HEADERS.partition]: String(result.partition),
        [DEAD_LETTER_HEADERS.attempts]: String(result.attempts),
        [WINDOW_DEAD_LETTER_HEADERS.table]: this.host.table,
        [WINDOW_DEAD_LETTER_HEADERS.start]: String(result.start),
        [WINDOW_DEAD_LETTER_HEADERS.end]: String(result.end),
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
        'could not dead-letter a final window result; trying again later',
      );
      if (this.host.binding() === binding) this.#later(result, error);
    }
  }
}

/** Builds a final result's message, holding a lineage of its own. @internal */
export function resultMessage<K, A>(
  topic: string,
  result: PendingResult<K, A>,
  lineage: Lineage,
): Message<WindowResult<K, A>, K> {
  const value: WindowResult<K, A> = {
    key: result.key,
    start: result.start,
    end: result.end,
    value: result.value,
    final: true,
  };
  return new Message(topic, result.partition, -1, result.key, value, {}, result.end, lineage);
}
