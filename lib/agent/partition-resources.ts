import type { ErrorPolicy } from '../core/error-policy.js';
import { Lineage } from '../core/lineage.js';
import type { AgentSinkHealth } from '../core/sink-health.js';
import type { CommitHold } from './partition-tracker.js';
import { LINEAGE, type Message } from '../core/message.js';
import type { TopicPartition, TopicPartitionOffset } from '../transports/transport.js';

/**
 * Something an agent's pipeline keeps per partition of its topic (a table's state): prepared when a
 * partition is assigned, before any record of it is processed (a table replays its changelog), and let
 * go when the partition is revoked. Registered with the agent through its {@link AgentScope}.
 * @internal
 */
export interface PartitionResource {
  /** Names it in logs. */
  readonly name: string;
  /** Gets the partitions ready; records of a partition are processed once its promise resolved. */
  assigned(partitions: readonly TopicPartition[]): Promise<void>;
  /** The partitions moved away (their records still in process settle no more). */
  revoked(partitions: readonly TopicPartition[]): Promise<void> | void;
  /** The group committed these offsets (next record to read) of the agent's topic. */
  committed?(offsets: readonly TopicPartitionOffset[]): void;
}

/**
 * What an agent offers the state its pipeline updates: the lineage owner of every record it pushes
 * exposes it (`LineageOwner.scope`), so a table binds to the agent of the first message that reaches it,
 * whatever operator subscribed the update and whenever.
 * @internal
 */
export interface AgentScope {
  readonly agent: string;
  readonly group: string;
  /** The topic the agent consumes. */
  readonly topic: string;
  /** The agent's error policy (operators that emit messages of their own follow it). */
  readonly errors: ErrorPolicy;
  /**
   * Registers `resource` with the agent (once; later calls do nothing). When the agent holds partitions
   * already (a table bound by its first message), readies them too and returns the promise the records
   * of those partitions must wait for.
   */
  use(resource: PartitionResource): Promise<void> | undefined;
  /** Fails the agent: a message an operator made itself failed for good under `onFailure: 'stop'`. */
  fail(error: unknown): void;
  /** The agent's sinks in its app's sink health (messages an operator made itself report there too). */
  readonly sinkHealth?: AgentSinkHealth;
  /**
   * Keeps the offset of `lineage`'s record from being committed, even once the record settled, until
   * {@link releaseCommit} is given the returned hold (a change it made is durable). The record's message
   * and its place in `maxInFlight` are not kept. Undefined: nothing of its partition is committed here
   * any more (revoked), or the agent keeps no holds.
   */
  holdCommit?(lineage: Lineage): CommitHold | undefined;
  /** Lets a held offset ({@link holdCommit}) be committed. */
  releaseCommit?(hold: CommitHold): void;
  /** Least time between two commits of the agent, in ms: how long a change may wait to be written. */
  readonly commitIntervalMs?: number;
}

/** The scope `testPipeline` gives its records: state stays local to the test (one partition, every key). */
export interface LocalScope {
  readonly local: true;
}

/** The one local scope (every `testPipeline` run shares it, so a table can be fed by several runs). @internal */
export const LOCAL_SCOPE: LocalScope = Object.freeze({ local: true });

/** What state binds to: an agent, or the local scope of a test. @internal */
export type PipelineScope = AgentScope | LocalScope;

/** Whether `scope` is the local scope of a test. @internal */
export function isLocalScope(scope: PipelineScope): scope is LocalScope {
  return scope === LOCAL_SCOPE;
}

/**
 * The scope of the record `message` stands for, from its lineage's owner (the first lineage of an
 * aggregate); undefined for a message that belongs to no agent (built by hand, a final window result).
 * @internal
 */
export function scopeOf(message: Message<unknown, unknown>): PipelineScope | undefined {
  const lineage = message[LINEAGE];
  const first = lineage instanceof Lineage ? lineage : lineage?.[0];
  return first?.owner.scope as PipelineScope | undefined;
}

let current: AgentScope | undefined;

/**
 * Runs `subscribe` with `scope` as the agent being set up: operators subscribed synchronously bind their
 * state at once (before the first assignment, so restores need no wait in the pipeline).
 * @internal
 */
export function withAgentScope<R>(scope: AgentScope, subscribe: () => R): R {
  const outer = current;
  current = scope;
  try {
    return subscribe();
  } finally {
    current = outer;
  }
}

/**
 * The agent whose pipeline is being subscribed right now, if any: the cheap early binding. Operators
 * subscribed later (`groupBy` → `mergeMap`, `switchMap`, `defer`…) see none and bind through
 * {@link scopeOf} on their first message.
 * @internal
 */
export function subscribingScope(): AgentScope | undefined {
  return current;
}
