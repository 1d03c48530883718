import type { TopicPartition, TopicPartitionOffset } from '../transports/transport.js';
import type { PartitionResource } from './partition-resources.js';

/** What an agent's resources need from it. @internal */
export interface AgentResourcesHost {
  /** Whether the agent runs (a restore that fails meanwhile fails it; afterwards it is no failure). */
  running(): boolean;
  /** The partitions the agent holds now. */
  assigned(): readonly TopicPartition[];
  /** Fails the agent. */
  fail(error: unknown): void;
}

/**
 * The per-partition state an agent's pipeline registered with it ({@link PartitionResource}s: its
 * tables), and what each is told: partitions assigned (readied before their records are processed; a
 * restore that fails while the agent runs fails the agent), revoked, and offsets committed. A resource
 * registers through the agent's scope (`AgentScope.use`), at any time.
 *
 * @example
 * ```ts
 * const resources = new AgentResources({ running, assigned: () => ledger.assigned(), fail });
 * ledger.assign(partitions, resources.assigned(partitions)); // records wait for the restore
 * ```
 * @internal
 */
export class AgentResources {
  readonly #resources = new Set<PartitionResource>();

  constructor(private readonly host: AgentResourcesHost) {}

  /**
   * Registers a resource; one registered while the agent holds partitions (a table bound by its first
   * message) readies them at once: its records wait for the promise returned.
   */
  use(resource: PartitionResource): Promise<void> | undefined {
    if (this.#resources.has(resource)) return undefined;
    this.#resources.add(resource);
    const assigned = this.host.assigned();
    if (assigned.length === 0 || !this.host.running()) return undefined;
    return this.#watch(resource.assigned(assigned));
  }

  /** Readies every resource for newly assigned partitions (undefined: nothing to wait for). */
  assigned(partitions: readonly TopicPartition[]): Promise<void> | undefined {
    if (this.#resources.size === 0) return undefined;
    return this.#watch(
      Promise.all([...this.#resources].map((resource) => resource.assigned(partitions))).then(
        () => undefined,
      ),
    );
  }

  /** Lets every resource go of `partitions`, one after the other. */
  async revoked(partitions: readonly TopicPartition[]): Promise<void> {
    for (const resource of this.#resources) await resource.revoked(partitions);
  }

  /** The group committed these offsets of the agent's topic. */
  committed(offsets: readonly TopicPartitionOffset[]): void {
    for (const resource of this.#resources) resource.committed?.(offsets);
  }

  /** A restore that fails while the agent runs fails the agent. */
  #watch(ready: Promise<void>): Promise<void> {
    ready.catch((error: unknown) => {
      // a restore cut short by a stop (the transport closing) is no failure of the agent
      if (this.host.running()) this.host.fail(error);
    });
    return ready;
  }
}
