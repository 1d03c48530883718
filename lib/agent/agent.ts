import { Subject, type OperatorFunction, type Subscription } from 'rxjs';
import type {
  RecordBatch,
  TopicPartition,
  TopicPartitionOffset,
  Transport,
  TransportConsumer,
} from '../transports/transport.js';
import { settleMessage } from '../core/ack.js';
import { deadLetterRecord } from './dead-letter.js';
import { decodeRecord } from './decode-record.js';
import { type ErrorPolicy, backoffDelay, isRetriable } from '../core/error-policy.js';
import { AgentFailedError, RebalanceInProgressError, ShutdownTimeoutError } from '../core/errors.js';
import { Lineage, type LineageOwner } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import { Message } from '../core/message.js';
import { type Entry, PartitionTracker } from './partition-tracker.js';
import { StallDetector } from './stall-detector.js';
import type { Topic } from '../core/topic.js';

/**
 * An agent's processing: an RxJS operator from the topic's messages to anything. What the pipeline emits
 * (a message, or an array of messages such as a batch) is settled; messages dropped with `filterValue`
 * are settled on purpose; a failure goes to the agent's error policy.
 *
 * @example
 * ```ts
 * const pipeline: Pipeline<Order, string> = (order$) =>
 *   order$.pipe(filterValue((o) => o.quantity > 0), toTopic(validOrders));
 * app.agent('validate', orders, pipeline);
 * ```
 */
export type Pipeline<T, K> = OperatorFunction<Message<T, K | null>, unknown>;

/**
 * How an agent runs.
 *
 * @example
 * ```ts
 * app.agent('confirm', orders, pipeline, { maxInFlight: 1000, fromBeginning: false, commitIntervalMs: 500 });
 * ```
 */
export interface AgentOptions {
  /**
   * Most records received but not yet committable (default 5000): above it the agent pauses its
   * partitions; memory and redelivery after a crash stay within it. Keep it above your batch sizes.
   */
  readonly maxInFlight?: number;
  /** Consumer group (default `<app id>.<agent name>`). Run more workers with the same group to scale out. */
  readonly group?: string;
  /** Where a new group starts: the earliest record (default) or the end of the topic. */
  readonly fromBeginning?: boolean;
  /** Retry, dead-letter or stop on failure. Default: 3 retries, then dead-letter to `<topic>.dlq`. */
  readonly errors?: ErrorPolicy;
  /** Least time between two commits, in ms (default 100); commits only ever cover settled records. */
  readonly commitIntervalMs?: number;
  /** Warn when a record stays unsettled this long, in ms (default 30 000; 0 turns it off). */
  readonly stallTimeoutMs?: number;
}

/**
 * A snapshot of an agent's counters, for status lines and metrics.
 *
 * @example
 * ```ts
 * const stats: AgentStats = agent.stats();
 * console.log(`${stats.name}: ${stats.settled}/${stats.received} settled, ${stats.inFlight} in flight`);
 * ```
 */
export interface AgentStats {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  readonly state: AgentState;
  /** Records handed to the pipeline (each once, retries not counted). */
  readonly received: number;
  readonly settled: number;
  /** Retries scheduled. */
  readonly retried: number;
  readonly deadLettered: number;
  /** Records received and not settled. */
  readonly inFlight: number;
  /** Records received and not yet committable (what `maxInFlight` bounds). */
  readonly window: number;
  /** Times the agent paused its partitions for lack of room. */
  readonly pauses: number;
  readonly partitions: readonly PartitionStats[];
}

/**
 * Per-partition counters in {@link AgentStats}.
 *
 * @example
 * ```ts
 * for (const p of agent.stats().partitions) {
 *   console.log(`p${p.partition}: committed ${p.committed}, ${p.inFlight} in flight`);
 * }
 * ```
 */
export interface PartitionStats {
  readonly partition: number;
  /** Last committed offset (-1 before the first commit). */
  readonly committed: number;
  /** Offset that may be committed now. */
  readonly committable: number | undefined;
  readonly inFlight: number;
  /** How long the oldest unsettled record of this partition has waited, in ms (0 when none waits). */
  readonly oldestUnsettledMs: number;
}

/**
 * Lifecycle of an agent.
 *
 * @example
 * ```ts
 * const state: AgentState = agent.state; // 'idle' | 'running' | 'stopping' | 'stopped'
 * if (state !== 'running') console.warn(`${agent.name} is ${state}`);
 * ```
 */
export type AgentState = 'idle' | 'running' | 'stopping' | 'stopped';

/** What an agent needs from its app. @internal */
export interface AgentHost {
  readonly appId: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  onAgentFailed(agent: Agent<unknown, unknown>, error: AgentFailedError): void;
}

const DEFAULT_MAX_IN_FLIGHT = 5000;
const DEAD_LETTER_ATTEMPTS = 5;

/**
 * A running agent: consumes its topic in its consumer group, runs every message through its pipeline,
 * commits only the contiguous settled prefix of each partition, bounds what is in flight, and applies
 * its error policy. Created with `app.agent()`; started and stopped by the app.
 *
 * @example
 * ```ts
 * const agent = app.agent('count', orders, (order$) => order$.pipe(filterValue((o) => o.quantity > 0)));
 * console.log(agent.stats().settled);
 * ```
 */
export class Agent<T = unknown, K = string> implements LineageOwner {
  /** Consumer group of this agent. */
  readonly group: string;
  readonly #maxInFlight: number;
  readonly #resumeBelow: number;
  readonly #policy: Required<Pick<ErrorPolicy, 'retries' | 'onFailure'>> & ErrorPolicy;
  readonly #deadLetterTopic: string;
  readonly #commitIntervalMs: number;
  readonly #trackers = new Map<string, PartitionTracker>();
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly #stall: StallDetector;
  #state: AgentState = 'idle';
  #transport: Transport | undefined;
  #consumer: TransportConsumer | undefined;
  #input = new Subject<Message<T, K | null>>();
  #output: Subscription | undefined;
  #outputDone = false;
  #pendingDeadLetters = 0;
  #drained: (() => void) | undefined;
  #capacity: (() => void)[] = [];
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #failure: AgentFailedError | undefined;
  #warnedOutput = false;
  // Sums over the trackers, kept as counters because the per-record path reads them.
  #window = 0;
  #unsettled = 0;
  #received = 0;
  #settled = 0;
  #retried = 0;
  #deadLettered = 0;
  #pauses = 0;

  /** @internal Use `app.agent()`. */
  constructor(
    private readonly host: AgentHost,
    /** Agent name, unique in its app. */
    readonly name: string,
    /** The topic it consumes. */
    readonly topic: Topic<T, K>,
    private readonly pipeline: Pipeline<T, K>,
    private readonly options: AgentOptions = {},
  ) {
    this.group = options.group ?? `${host.appId}.${name}`;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    this.#resumeBelow = Math.max(1, Math.floor(this.#maxInFlight * 0.75));
    this.#policy = { retries: 3, onFailure: 'dead-letter', ...options.errors };
    this.#deadLetterTopic = this.#policy.deadLetterTopic ?? `${topic.name}.dlq`;
    this.#commitIntervalMs = options.commitIntervalMs ?? 100;
    this.#stall = new StallDetector(
      name,
      () => this.#trackers.values(),
      host.logger,
      options.stallTimeoutMs ?? 30_000,
    );
  }

  /** Where the agent is in its lifecycle. */
  get state(): AgentState {
    return this.#state;
  }

  /** The error that stopped the agent, if any. */
  get failure(): AgentFailedError | undefined {
    return this.#failure;
  }

  /**
   * Counters of this agent right now.
   *
   * @example
   * ```ts
   * const { settled, inFlight } = agent.stats();
   * ```
   */
  stats(): AgentStats {
    const now = Date.now();
    const partitions = [...this.#trackers.values()].map((tracker) => ({
      partition: tracker.partition,
      committed: tracker.committed,
      committable: tracker.committable,
      inFlight: tracker.unsettled,
      oldestUnsettledMs: tracker.oldest ? now - tracker.oldest.receivedAt : 0,
    }));
    return {
      name: this.name,
      topic: this.topic.name,
      group: this.group,
      state: this.#state,
      received: this.#received,
      settled: this.#settled,
      retried: this.#retried,
      deadLettered: this.#deadLettered,
      inFlight: this.#unsettled,
      window: this.#window,
      pauses: this.#pauses,
      partitions,
    };
  }

  /** @internal Joins the group and starts processing. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    const transport = await this.host.transport();
    this.#transport = transport;
    if (this.#policy.onFailure === 'dead-letter') {
      await transport.ensureTopics([{ name: this.#deadLetterTopic }]);
    }
    this.#output = this.pipeline(this.#input).subscribe({
      next: (value) => this.#settleOutput(value),
      error: (error: unknown) => {
        this.#outputDone = true;
        this.#fail(new AgentFailedError(this.name, undefined, error));
        this.#checkDrained();
      },
      complete: () => {
        this.#outputDone = true;
        if (this.#state === 'running') {
          this.host.logger.warn(
            { agent: this.name },
            'agent pipeline completed while the topic is still open',
          );
        }
        this.#checkDrained();
      },
    });
    this.#consumer = await transport.consume(
      { groupId: this.group, topics: [this.topic.name], fromBeginning: this.options.fromBeginning ?? true },
      {
        onBatch: (batch) => this.#onBatch(batch),
        onAssigned: (partitions) => this.#onAssigned(partitions),
        onRevoked: (partitions) => this.#onRevoked(partitions),
        onRebalancing: () => this.#commitNow(),
        onCrash: (error) => this.#fail(new AgentFailedError(this.name, undefined, error)),
      },
    );
    this.#stall.start();
    this.host.logger.info({ agent: this.name, topic: this.topic.name, group: this.group }, 'agent started');
  }

  /**
   * @internal Graceful stop: stop fetching, complete the pipeline so batches flush, wait (up to
   * `timeoutMs`) for in-flight records to settle, commit, leave the group.
   */
  stop(timeoutMs: number): Promise<void> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    this.#consumer?.pause([...this.#assigned.values()]);
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    this.#wakeCapacity();
    this.#input.complete();
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    this.#checkDrained();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (deadline = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(deadline);
    if (this.#unsettled > 0) {
      const error = new ShutdownTimeoutError(this.name, this.#unsettled);
      this.host.logger.warn({ agent: this.name, unsettled: this.#unsettled }, error.message);
    }
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    await this.#committing;
    await this.#commit();
    this.#stall.stop();
    await this.#consumer?.stop();
    this.#output?.unsubscribe();
    this.#state = 'stopped';
    this.host.logger.info({ agent: this.name, ...this.#counters() }, 'agent stopped');
  }

  /** @internal */
  onSettled(lineage: Lineage): void {
    this.#settleEntry(lineage.token as Entry);
  }

  /** @internal */
  onFailed(lineage: Lineage, error: unknown): void {
    this.#handleFailure(lineage.token as Entry, error);
  }

  async #onBatch(batch: RecordBatch): Promise<number> {
    const tracker = this.#tracker(batch);
    const records = batch.records;
    const now = Date.now();
    for (let i = 0; i < records.length; i++) {
      if (this.#window >= this.#maxInFlight) {
        await this.#waitForCapacity();
        if (this.#state !== 'running' || tracker.revoked) return i;
      }
      const record = records[i]!;
      let decoded;
      try {
        decoded = decodeRecord(batch, record, this.topic.keyCodec, this.topic.valueCodec);
        if (decoded instanceof Promise) decoded = await decoded;
      } catch (error) {
        if (this.#state !== 'running' || tracker.revoked) return i;
        this.#handleFailure(this.#admit(tracker, record, now), error);
        continue;
      }
      if (this.#state !== 'running' || tracker.revoked) return i;
      const entry = this.#admit(tracker, record, now);
      const message = new Message<T, K | null>(
        batch.topic,
        batch.partition,
        record.offset,
        decoded.key,
        decoded.value,
        record.headers,
        record.timestamp,
        new Lineage(this, entry),
      );
      entry.message = message;
      this.#input.next(message);
    }
    return records.length;
  }

  #admit(tracker: PartitionTracker, record: RecordBatch['records'][number], now: number): Entry {
    this.#window++;
    this.#unsettled++;
    this.#received++;
    return tracker.add(record, now, undefined);
  }

  #tracker(tp: TopicPartition): PartitionTracker {
    const key = `${tp.topic}\u0000${tp.partition}`;
    let tracker = this.#trackers.get(key);
    if (!tracker) {
      tracker = new PartitionTracker(tp.topic, tp.partition);
      this.#trackers.set(key, tracker);
    }
    return tracker;
  }

  #settleOutput(value: unknown): void {
    if (value instanceof Message) {
      settleMessage(value);
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (item instanceof Message) settleMessage(item);
        else this.#warnOutput(item);
      }
    } else {
      this.#warnOutput(value);
    }
  }

  #warnOutput(value: unknown): void {
    if (this.#warnedOutput) return;
    this.#warnedOutput = true;
    this.host.logger.warn(
      { agent: this.name, type: typeof value },
      'the pipeline emitted a value that is not a Message; it settles nothing (use mapValue to keep the message)',
    );
  }

  #settleEntry(entry: Entry): void {
    const tracker = entry.tracker;
    if (tracker.revoked || entry.settled) return;
    const left = tracker.settle(entry);
    this.#unsettled--;
    this.#settled++;
    if (left > 0) {
      this.#window -= left;
      this.#scheduleCommit();
      if (this.#capacity.length > 0 && this.#window < this.#resumeBelow) this.#wakeCapacity();
    }
    if (this.#state === 'stopping') this.#checkDrained();
  }

  #handleFailure(entry: Entry, error: unknown): void {
    if (entry.tracker.revoked || entry.settled || this.#state === 'stopped') return;
    const retriable = isRetriable(error) && entry.message !== undefined;
    const position = { topic: entry.tracker.topic, partition: entry.tracker.partition, offset: entry.offset };
    if (retriable && entry.attempt <= this.#policy.retries) {
      if (this.#state !== 'running') return; // left unsettled: delivered again after restart
      this.#retry(entry, error);
      return;
    }
    this.host.logger.warn(
      { agent: this.name, ...position, attempts: entry.attempt, err: error },
      `processing failed for good; policy: ${this.#policy.onFailure}`,
    );
    if (this.#policy.onFailure === 'stop') this.#fail(new AgentFailedError(this.name, position, error));
    else void this.#deadLetter(entry, error);
  }

  #retry(entry: Entry, error: unknown): void {
    const delay = backoffDelay(this.#policy.backoff ?? {}, entry.attempt);
    this.#retried++;
    this.host.logger.debug(
      { agent: this.name, offset: entry.offset, attempt: entry.attempt, delay, err: error },
      'retrying',
    );
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      const previous = entry.message;
      if (this.#state !== 'running' || entry.tracker.revoked || !previous) return;
      entry.attempt++;
      const message = new Message<T, K | null>(
        previous.topic,
        previous.partition,
        previous.offset,
        previous.key as K | null,
        previous.value as T,
        previous.headers,
        previous.timestamp,
        new Lineage(this, entry),
      );
      entry.message = message;
      this.#input.next(message);
    }, delay);
    this.#retryTimers.add(timer);
  }

  async #deadLetter(entry: Entry, error: unknown): Promise<void> {
    const transport = this.#transport!;
    const source = { topic: entry.tracker.topic, partition: entry.tracker.partition };
    const record = deadLetterRecord(
      this.#deadLetterTopic,
      this.name,
      source,
      entry.record,
      error,
      entry.attempt,
    );
    this.#pendingDeadLetters++;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await transport.produce([record]);
          break;
        } catch (produceError) {
          if (attempt >= DEAD_LETTER_ATTEMPTS) throw produceError;
          await new Promise((resolve) => setTimeout(resolve, backoffDelay({}, attempt)));
        }
      }
      this.#deadLettered++;
      this.#settleEntry(entry);
    } catch (produceError) {
      this.#fail(new AgentFailedError(this.name, { ...source, offset: entry.offset }, produceError));
    } finally {
      this.#pendingDeadLetters--;
      this.#checkDrained();
    }
  }

  #fail(error: AgentFailedError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.host.logger.error({ agent: this.name, err: error }, error.message);
    this.host.onAgentFailed(this as Agent<unknown, unknown>, error);
  }

  #waitForCapacity(): Promise<void> {
    this.#pauses++;
    const partitions = [...this.#assigned.values()];
    this.#consumer?.pause(partitions);
    return new Promise<void>((resolve) => this.#capacity.push(resolve));
  }

  /** Resumes every batch waiting for room (several when the transport delivers partitions concurrently). */
  #wakeCapacity(): void {
    if (this.#capacity.length === 0) return;
    const waiting = this.#capacity;
    this.#capacity = [];
    if (this.#state === 'running') this.#consumer?.resume([...this.#assigned.values()]);
    for (const resolve of waiting) resolve();
  }

  #checkDrained(): void {
    if (this.#drained && ((this.#outputDone && this.#pendingDeadLetters === 0) || this.#unsettled === 0)) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained();
    }
  }

  #onAssigned(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#assigned.set(`${tp.topic}\u0000${tp.partition}`, tp);
    this.host.logger.debug(
      { agent: this.name, partitions: partitions.map((tp) => tp.partition) },
      'assigned',
    );
  }

  async #onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    await this.#committing;
    await this.#commit(partitions);
    for (const tp of partitions) {
      const key = `${tp.topic}\u0000${tp.partition}`;
      this.#assigned.delete(key);
      const tracker = this.#trackers.get(key);
      if (!tracker) continue;
      tracker.revoked = true;
      this.#trackers.delete(key);
      this.#window -= tracker.window;
      this.#unsettled -= tracker.unsettled;
    }
    this.#wakeCapacity();
    this.#checkDrained();
    this.host.logger.debug({ agent: this.name, partitions: partitions.map((tp) => tp.partition) }, 'revoked');
  }

  /** Commits at once (after the commit in flight, if any) instead of at the next interval. */
  #commitNow(): Promise<void> {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    return this.#committing ? this.#committing.then(() => this.#commit()) : this.#commit();
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined || this.#committing !== undefined) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commit();
    }, this.#commitIntervalMs);
  }

  /** Commits the settled prefix of every partition (or of the given ones) that advanced. */
  #commit(only?: readonly TopicPartition[]): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || this.#committing) return this.#committing ?? Promise.resolve();
    const offsets: TopicPartitionOffset[] = [];
    const trackers: PartitionTracker[] = [];
    for (const tracker of this.#trackers.values()) {
      if (only && !only.some((tp) => tp.topic === tracker.topic && tp.partition === tracker.partition))
        continue;
      const offset = tracker.committable;
      if (tracker.revoked || offset === undefined || offset <= tracker.committed) continue;
      offsets.push({ topic: tracker.topic, partition: tracker.partition, offset });
      trackers.push(tracker);
    }
    if (offsets.length === 0) return Promise.resolve();
    this.#committing = consumer
      .commit(offsets)
      .then(
        () =>
          trackers.forEach(
            (tracker, i) => (tracker.committed = Math.max(tracker.committed, offsets[i]!.offset)),
          ),
        (error: unknown) => {
          const level = error instanceof RebalanceInProgressError ? 'debug' : 'warn';
          this.host.logger[level]({ agent: this.name, err: error }, 'commit failed; will retry');
        },
      )
      .finally(() => {
        this.#committing = undefined;
        if (this.#state === 'running') this.#scheduleCommitIfBehind();
      });
    return this.#committing;
  }

  #scheduleCommitIfBehind(): void {
    for (const tracker of this.#trackers.values()) {
      const offset = tracker.committable;
      if (!tracker.revoked && offset !== undefined && offset > tracker.committed) {
        this.#scheduleCommit();
        return;
      }
    }
  }

  #counters(): Record<string, number> {
    return {
      received: this.#received,
      settled: this.#settled,
      retried: this.#retried,
      deadLettered: this.#deadLettered,
      unsettled: this.#unsettled,
    };
  }
}
