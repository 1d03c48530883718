import type { ErrorPolicy } from '../core/error-policy.js';
import type { AgentSinkHealth } from '../core/sink-health.js';
import type { TopicPartition, TopicPartitionOffset } from '../transports/transport.js';

/**
 * Something an agent's pipeline keeps per partition of its topic (a table's state): prepared when a
 * partition is assigned, before any record of it is processed (a table replays its changelog), and let
 * go when the partition is revoked. Operators register one while the agent subscribes its pipeline, with
 * {@link usePartitionResource}.
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

/** What an agent offers operators while it subscribes its pipeline. @internal */
export interface AgentScope {
  readonly agent: string;
  readonly group: string;
  /** The topic the agent consumes. */
  readonly topic: string;
  /** The agent's error policy (operators that emit messages of their own follow it). */
  readonly errors: ErrorPolicy;
  use(resource: PartitionResource): void;
  /** Fails the agent: a message an operator made itself failed for good under `onFailure: 'stop'`. */
  fail(error: unknown): void;
  /** The agent's sinks in its app's sink health (messages an operator made itself report there too). */
  readonly sinkHealth?: AgentSinkHealth;
}

let current: AgentScope | undefined;

/** Runs `subscribe` with `scope` as the agent being set up. @internal */
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
 * Registers `resource` with the agent whose pipeline is being subscribed; returns that agent's scope, or
 * undefined outside an agent (a pipeline under test, a plain subscription).
 * @internal
 */
export function usePartitionResource(resource: PartitionResource): AgentScope | undefined {
  current?.use(resource);
  return current;
}
