import type { Observable, ObservedValueOf, OperatorFunction } from 'rxjs';
import type { ErrorPolicy } from '../core/error-policy.js';
import type { Message } from '../core/message.js';
import type { GroupStats } from '../transports/group-membership.js';
import type { RestartPolicy } from './restart-budget.js';

/**
 * An agent's processing: an RxJS operator from the topic's messages to messages. What the pipeline emits
 * (a message, or an array of messages such as a batch) is settled; messages dropped with `filterValue`
 * are settled on purpose; a failure goes to the agent's error policy. Any RxJS operator may be used: an
 * error thrown while a message is pushed through is that message's failure, and the pipeline restarts.
 *
 * @example
 * ```ts
 * const pipeline: Pipeline<Order, string> = (order$) =>
 *   order$.pipe(filterValue((o) => o.quantity > 0), toTopic(validOrders));
 * app.agent('validate', orders, pipeline);
 * ```
 */
export type Pipeline<T, K> = OperatorFunction<Message<T, K | null>, PipelineOutput>;

/**
 * What the compiler says of a pipeline given to `app.agent` that ends in something other than messages
 * (e.g. a plain `map((m) => m.value)`): its type lacks a property whose name is the explanation. Nothing
 * at run time: `unknown` for a pipeline that ends in messages or arrays of them.
 *
 * @example
 * ```ts
 * // error: Property '"an agent's pipeline must end in Message objects…"' is missing in type 'Observable<number>'
 * app.agent('totals', orders, (order$) => order$.pipe(map((m) => m.value.quantity)));
 * ```
 */
export type EndsInMessages<O> = [O] extends [PipelineOutput]
  ? unknown
  : {
      readonly "an agent's pipeline must end in Message objects: use mapValue instead of map (and filterValue, mergeMapValue)": O;
    };

/**
 * A pipeline as `app.agent` takes it: a {@link Pipeline}, with the Observable it returns (`R`) inferred,
 * so that one ending in plain values gets the explanation of {@link EndsInMessages} instead of RxJS's
 * "Types of property 'operator' are incompatible".
 *
 * @example
 * ```ts
 * const pipeline: AgentPipeline<Order, string, Observable<Message<Order, string | null>>> = (order$) =>
 *   order$.pipe(filterValue((o) => o.quantity > 0));
 * ```
 */
export type AgentPipeline<T, K, R extends Observable<unknown>> = (
  source: Observable<Message<T, K | null>>,
) => R & EndsInMessages<ObservedValueOf<R>>;

/**
 * What an agent's pipeline may emit: messages, or arrays of them (batches). The compiler flags a pipeline
 * that ends in anything else (e.g. a plain `map((m) => m.value)`), which would leave records unsettled.
 *
 * @example
 * ```ts
 * const end: OperatorFunction<Message<Order>, PipelineOutput> = toRedis(redis, zaddOrder);
 * ```
 */
export type PipelineOutput = Message<unknown, unknown> | readonly Message<unknown, unknown>[];

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
   * Most records received but not yet committable (default 2500): above it the agent pauses its
   * partitions; memory and redelivery after a crash stay within it. Keep it above your batch sizes
   * (a sink's `concurrency` × `maxBatchSize`). Larger windows let records in flight outlive V8's young
   * generation, which costs memory behind a slow sink (BENCHMARKS.md, issue 17).
   */
  readonly maxInFlight?: number;
  /** Consumer group (default `<app id>.<agent name>`). Run more workers with the same group to scale out. */
  readonly group?: string;
  /** Where a new group starts: the earliest record (default) or the end of the topic. */
  readonly fromBeginning?: boolean;
  /**
   * Retry, dead-letter or stop on failure. Default: 3 retries (attempts inside sinks included), then
   * dead-letter to `<topic>.dlq`. A sink that fails for every message (its server is down) pauses the agent
   * instead: nothing is dead-lettered for an outage.
   */
  readonly errors?: ErrorPolicy;
  /** How often the pipeline may restart after errors before the agent fails (default 10 per minute). */
  readonly restarts?: RestartPolicy;
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
  /**
   * Records received and not yet committable (what `maxInFlight` bounds), but for settled records
   * whose offsets wait only for a table change to be durable (`updateTable`'s record cache).
   */
  readonly window: number;
  /** Times the agent paused its partitions for lack of room or while a sink was down. */
  readonly pauses: number;
  /** Records held while their sink is down (the agent takes no new records meanwhile). */
  readonly held: number;
  /** Times the pipeline restarted after an error. */
  readonly restarts: number;
  readonly partitions: readonly PartitionStats[];
  /**
   * This worker's place in the agent's consumer group (generation, rebalances, partitions gained and
   * lost, time spent rebalancing), once it consumes; absent when the transport does not tell it.
   */
  readonly membership?: GroupStats;
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
 * const state: AgentState = agent.state; // 'idle' | 'running' | 'stopping' | 'stopped' | 'failed'
 * if (state !== 'running') console.warn(`${agent.name} is ${state}`);
 * ```
 */
export type AgentState = 'idle' | 'running' | 'stopping' | 'stopped' | 'failed';
