import { type OperatorFunction, asyncScheduler } from 'rxjs';
import { AgentFailedError } from '../core/errors.js';
import type { Lineage, LineageOwner } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import type { Message } from '../core/message.js';
import type { AgentSinkHealth, SinkHealthRegistry } from '../core/sink-health.js';
import type { Topic } from '../topics/topic.js';
import type { Transport } from '../transports/transport.js';
import { AgentConsumer } from './agent-consumer.js';
import { AgentDrain } from './agent-drain.js';
import { AgentResources } from './agent-resources.js';
import { agentStats, stoppedCounters } from './agent-stats.js';
import { type StoppingAgent, drainAndLeave } from './agent-stop.js';
import { FailureHandler } from './failure-handler.js';
import { Intake } from './intake.js';
import { Ledger } from './ledger.js';
import type { AgentScope } from './partition-resources.js';
import type { Entry } from './partition-tracker.js';
import { RestartBudget } from './restart-budget.js';
import { StallDetector } from './stall-detector.js';
import { DropDetector } from './drop-detector.js';
import { type PipelineEnd, Supervisor } from './supervisor.js';
import type { AgentOptions, AgentState, AgentStats } from './agent-types.js';

export type {
  AgentOptions,
  AgentState,
  AgentStats,
  AgentPipeline,
  EndsInMessages,
  PartitionStats,
  Pipeline,
  PipelineOutput,
} from './agent-types.js';

/** What an agent needs from its app. @internal */
export interface AgentHost {
  readonly appId: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  onAgentFailed(agent: Agent<unknown, unknown>, error: AgentFailedError): void;
  /** How long a stop may wait for in-flight records, in ms. */
  readonly shutdownTimeoutMs: number;
  /** The app's sink health: the agent's sinks report into it, its outage decisions read it. */
  readonly sinkHealth: SinkHealthRegistry;
}

const DEFAULT_MAX_IN_FLIGHT = 2500;
const DEFAULT_COMMIT_INTERVAL_MS = 100;

/**
 * A running agent: consumes its topic in its consumer group, runs every message through its pipeline,
 * commits only the contiguous settled prefix of each partition, bounds what is in flight, and applies
 * its error policy. It wires four rooms together: the intake (fetch, decode, admit), the ledger
 * (partitions, counts, commits), the supervisor (the pipeline, its restarts) and the failure handler
 * (retries, outages, dead letters). Created with `app.agent()`; started and stopped by the app.
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
  /** @internal This agent's sinks in its app's sink health (its messages carry it to the sinks). */
  readonly sinkHealth: AgentSinkHealth;
  /** @internal What the state its pipeline updates binds to (tables register their partitions here). */
  readonly scope: AgentScope;
  readonly #ledger: Ledger;
  readonly #failures: FailureHandler;
  readonly #supervisor: Supervisor<T, K>;
  readonly #intake: Intake<T, K>;
  readonly #stall: StallDetector;
  readonly #drops: DropDetector;
  #state: AgentState = 'idle';
  #transport: Transport | undefined;
  readonly #consumer: AgentConsumer;
  #failure: AgentFailedError | undefined;
  #stopping: Promise<void> | undefined;
  /** The per-partition state its pipeline registered (tables). */
  readonly #resources: AgentResources;
  /** When a stop may go on: everything settled, or the pipeline done. */
  readonly #drain: AgentDrain;

  /** @internal Use `app.agent()`. */
  constructor(
    private readonly host: AgentHost,
    /** Agent name, unique in its app. */
    readonly name: string,
    /** The topic it consumes. */
    readonly topic: Topic<T, K>,
    pipeline: OperatorFunction<Message<T, K | null>, unknown>,
    private readonly options: AgentOptions = {},
    private readonly end: PipelineEnd = { kind: 'settle' },
  ) {
    this.group = options.group ?? `${host.appId}.${name}`;
    this.sinkHealth = host.sinkHealth.forAgent(name);
    this.scope = {
      agent: name,
      group: this.group,
      topic: topic.name,
      errors: options.errors ?? {},
      use: (resource) => this.#resources.use(resource),
      fail: (error) => this.#fail(error),
      holdCommit: (lineage) => this.#ledger.holdCommit(lineage.token as Entry),
      releaseCommit: (hold) => {
        this.#ledger.releaseCommit(hold);
        if (this.#drain.waiting) this.#drain.check();
      },
      commitIntervalMs: options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      sinkHealth: this.sinkHealth,
    };
    const logger = host.logger;
    const running = (): boolean => this.#state === 'running';
    this.#resources = new AgentResources({
      running,
      assigned: () => this.#ledger.assigned(),
      fail: (error) => this.#fail(error),
    });
    this.#ledger = new Ledger({
      agent: name,
      logger,
      maxInFlight: Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
      commitIntervalMs: options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      onCommitted: (offsets) => this.#resources.committed(offsets),
    });
    this.#consumer = new AgentConsumer(this.#ledger);
    this.#drain = new AgentDrain({
      unsettled: () => this.#ledger.unsettled,
      holds: () => this.#ledger.holds,
      pendingDeadLetters: () => this.#failures.pendingDeadLetters,
    });
    this.#failures = new FailureHandler(
      {
        name,
        logger,
        ledger: this.#ledger,
        running,
        transport: () => this.#transport!,
        repush: (entry) => {
          entry.stage = 'processing'; // a restarting pipeline hands it over when it is back
          this.#supervisor.push(entry);
        },
        fail: (error) => this.#fail(error),
        drained: () => this.#drain.check(),
        sinkHealth: this.sinkHealth,
      },
      options.errors ?? {},
      topic.name,
    );
    this.#drops = new DropDetector(name, logger);
    this.#supervisor = new Supervisor<T, K>(
      {
        name,
        logger,
        owner: this,
        drops: this.#drops,
        pending: () => this.#pending(),
        fail: (error) => this.#fail(error),
        ended: () => void this.stop(),
        scope: this.scope,
      },
      pipeline,
      end,
      new RestartBudget(options.restarts),
    );
    this.#intake = new Intake<T, K>({
      topic,
      ledger: this.#ledger,
      running,
      push: (entry) => this.#supervisor.push(entry),
      failed: (entry, error) => this.#failures.handle(entry, error),
    });
    this.#stall = new StallDetector(
      name,
      () => this.#ledger.trackers(),
      logger,
      options.stallTimeoutMs ?? 30_000,
      asyncScheduler, // the clock of the records' receivedAt (intake): virtual under TestScheduler.run
      () => this.#failures.outage,
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

  /** @internal Sinks start no new write for this agent's messages once it stops. */
  get accepting(): boolean {
    return this.#state === 'running';
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
    return agentStats({
      name: this.name,
      topic: this.topic.name,
      group: this.group,
      state: this.#state,
      ledger: this.#ledger,
      failures: this.#failures,
      restarts: this.#supervisor.restarts,
      membership: this.#consumer.membership,
    });
  }

  /** @internal Joins the group and starts processing. Never rejects: a failure fails the agent. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    try {
      const transport = await this.host.transport();
      if (this.#state !== 'running') return;
      this.#transport = transport;
      const deadLetterTopic = this.#failures.deadLetterTopic;
      if (deadLetterTopic) await transport.ensureTopics([{ name: deadLetterTopic }]);
      if (this.#state !== 'running' || !this.#supervisor.start()) return;
      if (this.#state !== 'running') return; // a direct subscription's pipeline ended while subscribing
      if (this.end.kind === 'observer' && this.end.reading?.() === false) {
        // a multicast operator (share) feeds this subscription from another one's records
        this.host.logger.info({ agent: this.name }, 'agent reads through another subscription');
        return;
      }
      void this.#supervisor.done.then(() => this.#drain.pipelineDone());
      // The consumer may deliver records before `consume` resolves: a stop meanwhile waits for it (#stop).
      await this.#consumer.join(
        transport,
        { groupId: this.group, topics: [this.topic.name], fromBeginning: this.options.fromBeginning ?? true },
        {
          onBatch: (batch) => this.#intake.onBatch(batch),
          onAssigned: (partitions) => this.#ledger.assign(partitions, this.#resources.assigned(partitions)),
          onRevoked: async (partitions) => {
            await this.#ledger.revoke(partitions);
            await this.#resources.revoked(partitions);
            this.#failures.revoked();
            this.#drain.check();
          },
          onRebalancing: () => this.#ledger.commitNow(),
          onCrash: (error) => this.#fail(error),
        },
      );
      if (this.#state !== 'running') return; // stopped while joining: #stop commits and leaves
      this.#stall.start();
      this.#drops.start();
      this.host.logger.info({ agent: this.name, topic: this.topic.name, group: this.group }, 'agent started');
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * @internal Graceful stop: stop fetching; writes already started finish, records not yet handed to
   * a sink are left for redelivery; wait (up to `timeoutMs`) for that, commit, leave the group.
   */
  stop(timeoutMs: number = this.host.shutdownTimeoutMs): Promise<void> {
    if (this.#stopping) return this.#stopping;
    // Set before #stop runs: its first steps complete a direct subscription, whose teardown calls stop() again.
    let stopped!: { resolve: () => void; reject: (error: unknown) => void };
    this.#stopping = new Promise<void>((resolve, reject) => (stopped = { resolve, reject }));
    this.#stop(timeoutMs).then(stopped.resolve, stopped.reject);
    return this.#stopping;
  }

  /**
   * @internal A direct subscription's subscriber is gone: its pipeline's output is unsubscribed at once
   * (inner subscriptions, such as a `switchMap`'s, end with it; nothing more reaches the subscriber).
   * The app then stops the agent, once nothing reads its records any more.
   */
  release(): void {
    this.#supervisor.release();
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    const unsettled = await drainAndLeave(this.#rooms(), timeoutMs);
    this.#state = this.#failure ? 'failed' : 'stopped';
    // A pipeline cut short (deadline, outage) never completed: its subscriber completes now (once: a
    // subscriber ignores a second complete).
    if (this.end.kind === 'observer' && !this.#failure) {
      try {
        this.end.observer.complete?.();
      } catch (error) {
        this.host.logger.error({ agent: this.name, err: error }, 'a subscriber threw on complete');
      }
    }
    this.host.logger.info(
      { agent: this.name, ...stoppedCounters(this.stats()), leftForRedelivery: unsettled },
      'agent stopped',
    );
  }

  /** @internal */
  onSettled(lineage: Lineage): void {
    const entry = lineage.token as Entry;
    if (!this.#ledger.settle(entry)) return;
    this.#failures.settled(entry);
    if (this.#drain.waiting) this.#drain.check();
  }

  /** @internal Failures of an attempt that is no longer the record's current one are ignored. */
  onFailed(lineage: Lineage, error: unknown): void {
    const entry = lineage.token as Entry;
    if (lineage !== entry.lineage) return;
    this.#failures.handle(entry, error);
  }

  /** @internal A message reused after its record was done: too late for the error policy, so it is logged. */
  onReused(lineage: Lineage, error: unknown): void {
    const { tracker, offset } = lineage.token as Entry;
    this.host.logger.error(
      { agent: this.name, topic: tracker.topic, partition: tracker.partition, offset, err: error },
      'a message was used again after its record was done',
    );
  }

  /** @internal A deferred record was handed on by the operator that held it (see `Supervisor.handedOff`). */
  handedOff(lineage: Lineage): void {
    this.#supervisor.handedOff(lineage);
  }

  /** @internal */
  attemptsLeft(lineage: Lineage): number {
    return this.#failures.attemptsLeft(lineage.token as Entry);
  }

  *#pending(): IterableIterator<Entry> {
    for (const entry of this.#ledger.unsettledEntries()) if (entry.stage === 'processing') yield entry;
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    const failure =
      error instanceof AgentFailedError ? error : new AgentFailedError(this.name, undefined, error);
    this.#failure = failure;
    this.host.logger.error({ agent: this.name, err: failure }, failure.message);
    if (this.end.kind === 'observer') {
      try {
        this.end.observer.error?.(failure);
      } catch (observerError) {
        this.host.logger.error({ agent: this.name, err: observerError }, 'a subscriber threw on error');
      }
    }
    this.host.onAgentFailed(this as Agent<unknown, unknown>, failure);
    void this.stop();
  }

  /** What a graceful stop goes through. */
  #rooms(): StoppingAgent {
    return {
      name: this.name,
      logger: this.host.logger,
      drops: this.#drops,
      failures: this.#failures,
      ledger: this.#ledger,
      supervisor: this.#supervisor,
      drain: this.#drain,
      consumer: this.#consumer,
      stall: this.#stall,
      resources: this.#resources,
    };
  }
}
