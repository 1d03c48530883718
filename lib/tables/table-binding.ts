import type { Message } from '../core/message.js';
import type { Logger } from '../core/logger.js';
import {
  type AgentScope,
  type PartitionResource,
  type PipelineScope,
  isLocalScope,
  scopeOf,
} from '../agent/partition-resources.js';
import type { Transport } from '../transports/transport.js';
import type { EncodedKey, TableCodecs } from './table-codecs.js';
import { TableChangelog } from './table-changelog.js';
import type { TableLocal } from './table-local.js';
import type { TablePartition } from './table-partition.js';
import {
  PartitionNotOwnedError,
  PartitionRecoveringError,
  TableBindingError,
  TableNotBoundError,
} from './table-errors.js';
import type { TableStore } from './stores/table-store.js';
import type { TableOptions } from './table-types.js';

/** What a table needs from its app. @internal */
export interface TableHost {
  readonly appId: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
}

/** Settings only rivulet's own layers give a table (windows set a retention). @internal */
export interface TableInternals {
  readonly changelogConfig?: Readonly<Record<string, string>>;
  /** A partition was restored and serves. */
  readonly ready?: (partition: number) => void;
  /** Partitions moved away from the table's agent (after the table let them go). */
  readonly revoked?: (partitions: readonly number[]) => void;
  /** The headers a change's note (`ApplyOptions.note`) gives its changelog record, if produced. */
  readonly noteHeaders?: (note: number) => Readonly<Record<string, string>>;
}

/** A message waiting for its partition's restore after a late binding, and what to do with it then. */
interface Held {
  readonly message: Message<unknown, unknown>;
  readonly go: (message: Message<unknown, unknown>) => void;
}

/** Longest wait of a changelog produce for more changes (the agent's commit interval, up to this). */
const MAX_LINGER_MS = 1000;

/** What a table's binding is made of: the table's identity, settings and stores. @internal */
export interface TableBindingSettings<K, V> {
  readonly table: string;
  readonly changelogTopic: string;
  readonly host: TableHost;
  readonly store: TableStore;
  readonly codecs: TableCodecs<K, V>;
  readonly options: TableOptions<K, V>;
  readonly internals: TableInternals;
  readonly local: TableLocal<V>;
}

/**
 * What a table is bound to (an agent, the local scope of a test, or nothing yet), and the partitions
 * that follow from it: the changelog side with the agent's partitions once bound to an agent, the
 * local partition otherwise. Holds the messages that come while a late binding's partitions are
 * restored.
 * @internal
 */
export class TableBinding<K, V> {
  /** What the table is bound to: an agent, the local scope of a test, or nothing yet (null: no message's scope). */
  #bound: PipelineScope | null = null;
  /** The agent, once bound to one. */
  #scope: AgentScope | undefined;
  /** Messages waiting for a late binding's restore, in arrival order. */
  #held: Held[] | undefined;
  #changelog: TableChangelog<V> | undefined;
  /** What the agent drives: the changelog side, once the table is bound to an agent. */
  readonly #resource: PartitionResource = {
    name: 'a table',
    assigned: (partitions) => this.#changelog!.assigned(partitions),
    revoked: async (partitions) => {
      await this.#changelog!.revoked(partitions);
      this.settings.internals.revoked?.(partitions.map(({ partition }) => partition));
    },
    committed: (offsets) => this.#changelog!.committed(offsets),
  };

  constructor(private readonly settings: TableBindingSettings<K, V>) {}

  /** Whether the table is bound to anything (an agent or the local scope of a test). */
  get bound(): boolean {
    return this.#bound !== null;
  }

  /** The agent the table is bound to (undefined: local, or not bound yet). */
  get scope(): AgentScope | undefined {
    return this.#scope;
  }

  /** The changelog side, once bound to an agent. */
  get changelog(): TableChangelog<V> | undefined {
    return this.#changelog;
  }

  /** See `Table.bind`. */
  bind(scope: PipelineScope): void {
    if (scope === this.#bound) return;
    const { table, options, internals } = this.settings;
    if (this.#scope)
      throw new TableBindingError(
        table,
        this.#scope.agent,
        isLocalScope(scope) ? 'testPipeline' : scope.agent,
      );
    this.#bound = scope;
    if (isLocalScope(scope)) return;
    const agent = scope;
    this.#scope = agent;
    this.settings.local.clear(); // what was written with no agent was local
    this.#changelog = new TableChangelog<V>({
      table,
      topic: this.settings.changelogTopic,
      source: agent.topic,
      host: this.settings.host,
      store: this.settings.store,
      stallTimeoutMs: options.stallTimeoutMs,
      replicationFactor: options.replicationFactor,
      standbys: options.standbys,
      standbyPollMs: options.standbyPollMs,
      lingerMs: Math.min(agent.commitIntervalMs ?? 0, MAX_LINGER_MS),
      ...(internals.changelogConfig ? { topicConfig: internals.changelogConfig } : {}),
      ...(internals.ready ? { ready: internals.ready } : {}),
      ...(internals.noteHeaders ? { noteHeaders: internals.noteHeaders } : {}),
    });
    const restored = agent.use(this.#resource);
    if (restored) this.#hold(restored);
  }

  /** See `Table.enter`. */
  enter(
    message: Message<unknown, unknown>,
    go: (message: Message<unknown, unknown>) => void,
  ): TableNotBoundError | TableBindingError | undefined {
    const scope = scopeOf(message);
    if (scope !== this.#bound) {
      if (scope === undefined)
        return new TableNotBoundError(this.settings.table, message.topic, message.partition, message.offset);
      try {
        this.bind(scope);
      } catch (error) {
        return error as TableBindingError;
      }
    }
    const held = this.#held;
    if (held === undefined) go(message);
    else held.push({ message, go });
    return undefined;
  }

  /** Holds the messages that come until `restored` settles (a failure fails the agent), then lets them go. */
  #hold(restored: Promise<void>): void {
    const held: Held[] = [];
    this.#held = held;
    const release = (): void => {
      // messages held meanwhile (one let go may bring another) join the end of the queue
      for (let i = 0; i < held.length; i++) held[i]!.go(held[i]!.message);
      this.#held = undefined;
    };
    restored.then(release, release);
  }

  /** Partitions this worker owns, ascending. */
  ownedPartitions(): number[] {
    if (!this.#changelog) return this.settings.local.existing ? [0] : [];
    return [...this.#changelog.partitions.keys()].sort((a, b) => a - b);
  }

  /** An owned partition: the changelog's (bound to an agent), or the local one under test once made. */
  part(partition: number): TablePartition<V> | undefined {
    if (this.#changelog) return this.#changelog.partitions.get(partition);
    return partition === 0 ? this.settings.local.existing : undefined;
  }

  /** The partition of a key: 0 under test, undefined until the partition count is known. */
  partitionOfKey(key: EncodedKey): number | undefined {
    if (!this.#scope) return 0;
    const count = this.#changelog?.partitionCount;
    if (count === undefined) return undefined;
    return this.settings.codecs.partitionOf(key, count);
  }

  /**
   * An owned and restored partition to read.
   * @throws {@link PartitionNotOwnedError} for a partition this worker does not own.
   * @throws {@link PartitionRecoveringError} while the partition is being restored.
   */
  readable(partition: number | undefined): TablePartition<V> {
    if (!this.#scope && partition === 0) return this.settings.local.part();
    const part = partition === undefined ? undefined : this.part(partition);
    if (!part) throw new PartitionNotOwnedError(this.settings.table, partition);
    if (part.state !== 'ready') throw new PartitionRecoveringError(this.settings.table, part.partition);
    return part;
  }
}
