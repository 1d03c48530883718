import type { Codec } from '../codecs/codec.js';
import type { Lineage } from '../core/lineage.js';
import { LINEAGE, type Message, type MessageHeaders } from '../core/message.js';
import type { Logger } from '../core/logger.js';
import {
  type AgentScope,
  type PartitionResource,
  type PipelineScope,
  isLocalScope,
  scopeOf,
} from '../agent/partition-resources.js';
import { type EncodedKey, TableCodecs } from './table-codecs.js';
import type { Transport } from '../transports/transport.js';
import { AppliedOffsets } from './applied-offsets.js';
import { hopOrigin } from './origin-offsets.js';
import { TableChangelog } from './table-changelog.js';
import { TablePartition } from './table-partition.js';
import {
  type ApplyCallback,
  type ApplyOutcome,
  DROPPED,
  DirectWrite,
  HeldWrite,
  RecordWrite,
} from './table-write.js';
import {
  PartitionNotOwnedError,
  PartitionRecoveringError,
  RepartitionRequiredError,
  TableBindingError,
  TableNotBoundError,
  TableUpdateOrderError,
} from './table-errors.js';
import type { TableStore } from './stores/table-store.js';
import { MemoryTableStore } from './stores/memory-table-store.js';

import type { TableKeyPage, TableOptions, TableState, TableStats } from './table-types.js';

export type {
  TableKeyPage,
  TableOptions,
  TablePartitionStats,
  TableStandbyStats,
  TableState,
  TableStats,
} from './table-types.js';

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
}

/** A message waiting for its partition's restore after a late binding, and what to do with it then. */
interface Held {
  readonly message: Message<unknown, unknown>;
  readonly go: (message: Message<unknown, unknown>) => void;
}

export type { ApplyCallback, ApplyOutcome } from './table-write.js';

/** Longest wait of a changelog produce for more changes (the agent's commit interval, up to this). */
const MAX_LINGER_MS = 1000;

const failed = (error: unknown): ApplyOutcome<never, never> => ({ kind: 'failed', error });

/**
 * Keyed state next to an agent, sharded like the agent's topic: each partition's keys live on the
 * worker that owns that partition, every change goes to the compacted changelog topic
 * `<app id>-<name>-changelog` (partition = the source record's partition) before the record moves on,
 * and a partition's state is restored from the changelog when it is assigned. Updated with
 * {@link updateTable}; read with {@link Table.get}. Declared with `app.table()`.
 *
 * A table is bound to the agent whose messages update it, by the first message that reaches it (or
 * at once, when `updateTable` is subscribed with the agent's pipeline), whatever operator subscribed
 * the update (`groupBy` → `mergeMap`, `switchMap`, `defer`, `expand`…): it then follows that agent's
 * partitions. A message of no agent is a {@link TableNotBoundError}; of a second agent, a
 * {@link TableBindingError}. Under `testPipeline` a table is a plain in-memory table that owns every key.
 *
 * @example
 * ```ts
 * const counts = app.table('counts', { value: json(z.number()), default: () => 0 });
 * app.agent('count', orders, (order$) => order$.pipe(updateTable(counts, (n) => n + 1)));
 * counts.get('ada'); // 3 (on the worker owning the key's partition)
 * ```
 */
export class Table<K = string, V = unknown, C extends V | undefined = V | undefined> {
  readonly changelogTopic: string;
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
  readonly #default: (() => V) | undefined;
  readonly #store: TableStore;
  /** The one partition of a table under test (no agent), once written or read. */
  #localPart: TablePartition<V> | undefined;
  /** Applied offsets per source partition under test (no agent, one local partition). */
  readonly #localApplied = new Map<number, AppliedOffsets>();
  readonly #codecs: TableCodecs<K, V>;
  readonly #decoder = (bytes: Buffer): V => this.#codecs.decodeValue(bytes);
  readonly #open = (): boolean => !this.#closed;
  /** What the table is bound to: an agent, the local scope of a test, or nothing yet (null: no message's scope). */
  #bound: PipelineScope | null = null;
  /** The agent, once bound to one. */
  #scope: AgentScope | undefined;
  /** Messages waiting for a late binding's restore, in arrival order. */
  #held: Held[] | undefined;
  /** Ids of changes not made for a source record ({@link Table.put}): negative, never an offset. */
  #directWrites = 0;
  #closed = false;
  #changelog: TableChangelog<V> | undefined;
  /** What the agent drives: the changelog side, once the table is bound to an agent. */
  readonly #resource: PartitionResource = {
    name: 'a table',
    assigned: (partitions) => this.#changelog!.assigned(partitions),
    revoked: async (partitions) => {
      await this.#changelog!.revoked(partitions);
      this.internals.revoked?.(partitions.map(({ partition }) => partition));
    },
    committed: (offsets) => this.#changelog!.committed(offsets),
  };

  /** @internal Use `app.table()`. */
  constructor(
    private readonly host: TableHost,
    readonly name: string,
    keyCodec: Codec<K>,
    valueCodec: Codec<V>,
    private readonly options: TableOptions<K, V>,
    private readonly internals: TableInternals = {},
  ) {
    this.changelogTopic = `${host.appId}-${name}-changelog`;
    this.keyCodec = keyCodec;
    this.valueCodec = valueCodec;
    this.#codecs = new TableCodecs(name, keyCodec, valueCodec);
    this.#default = options.default;
    this.#store = options.store?.() ?? new MemoryTableStore();
  }

  /**
   * The value of `key`: synchronous, for keys of partitions this worker owns (under test, every key).
   * An absent key reads as the table's default (or `undefined` without one).
   * @throws {@link PartitionNotOwnedError} for a key of another worker's partition (it names the partition).
   * @throws {@link PartitionRecoveringError} while the key's partition is being restored.
   *
   * @example
   * ```ts
   * const n = counts.get('ada');
   * ```
   */
  get(key: K): C {
    const encoded = this.#codecs.encodeKey(key);
    const part = this.#readable(this.#partitionOfKey(encoded));
    const value = part.lookup(encoded.id, encoded.bytes, this.#decoder);
    return (value ?? this.#default?.()) as C;
  }

  /**
   * The partition that holds `key` (undefined until the partition count is known).
   *
   * @example
   * ```ts
   * const partition = counts.partitionOf('ada');
   * ```
   */
  partitionOf(key: K): number | undefined {
    if (!this.#scope) return 0;
    return this.#changelog?.partitionCount === undefined
      ? undefined
      : this.#partitionOfKey(this.#codecs.encodeKey(key));
  }

  /**
   * Whether this worker owns `key`'s partition and has restored it (`get` answers).
   *
   * @example
   * ```ts
   * if (counts.ownsKey('ada')) respond(counts.get('ada'));
   * ```
   */
  ownsKey(key: K): boolean {
    const partition = this.partitionOf(key);
    return partition !== undefined && this.#part(partition)?.state === 'ready';
  }

  /**
   * A page of the keys of an owned partition, in byte order of their encoding (changes acknowledged
   * by the broker; a key created by a change in flight shows once it is).
   * @throws {@link PartitionNotOwnedError} for a partition this worker does not own.
   *
   * @example
   * ```ts
   * let page = counts.keys(0, { limit: 100 });
   * while (page.next !== undefined) page = counts.keys(0, { after: page.next, limit: 100 });
   * ```
   */
  keys(partition: number, page: { readonly after?: K; readonly limit?: number } = {}): TableKeyPage<K> {
    this.#readable(partition);
    const result = this.#store.keys(partition, {
      ...(page.after !== undefined ? { after: this.keyCodec.encode(page.after) } : {}),
      ...(page.limit !== undefined ? { limit: page.limit } : {}),
    });
    const keys = result.keys.map((bytes) => this.#codecs.decodeKey(bytes));
    return result.next ? { keys, next: this.#codecs.decodeKey(result.next) } : { keys };
  }

  /**
   * Partitions this worker owns, ascending.
   *
   * @example
   * ```ts
   * for (const partition of counts.ownedPartitions()) console.log(counts.keys(partition).keys);
   * ```
   */
  ownedPartitions(): number[] {
    if (!this.#changelog) return this.#localPart ? [0] : [];
    return [...this.#changelog.partitions.keys()].sort((a, b) => a - b);
  }

  /**
   * Counters of this table right now.
   *
   * @example
   * ```ts
   * const { state, partitions } = counts.stats();
   * ```
   */
  stats(): TableStats {
    const partitions = this.ownedPartitions().map((partition) => {
      const part = this.#part(partition)!;
      return {
        partition,
        state: part.state,
        keys: this.#store.size(partition),
        read: part.read,
        toRead: part.toRead,
        pendingWrites: part.pendingWrites,
      };
    });
    const bound = this.#scope !== undefined;
    const state: TableState =
      this.#bound === null || (bound && this.#changelog?.partitionCount === undefined)
        ? 'idle'
        : partitions.some((p) => p.state === 'recovering')
          ? 'recovering'
          : 'ready';
    return {
      name: this.name,
      changelog: this.changelogTopic,
      store: this.#store.description,
      state,
      partitionCount: bound ? this.#changelog?.partitionCount : undefined,
      partitions,
      stalledMs: this.#changelog?.stalledMs,
      writeFailures: this.#changelog?.writeFailures ?? 0,
      standbys: this.#changelog?.standbys() ?? [],
    };
  }

  /** @internal Lets go of the store and the changelog writer (the app stopped). */
  async close(): Promise<void> {
    this.#closed = true;
    const parts = this.ownedPartitions().map((partition) => this.#part(partition)!);
    const standbysStopped = this.#changelog?.close();
    await Promise.all([...parts.map((part) => part.stored()), standbysStopped]);
    this.#localPart = undefined;
    await this.#store.close();
  }

  /** @internal The agent the table is bound to (undefined: local, or not bound yet). */
  get agentScope(): AgentScope | undefined {
    return this.#scope;
  }

  /**
   * @internal Binds the table to `scope`, once: an agent (its partitions registered with it; those it
   * holds already are restored while the messages wait, see {@link Table.enter}), or the local scope of
   * a test (which an agent may replace: what a test wrote was local).
   * @throws {@link TableBindingError} when bound to another agent already.
   */
  bind(scope: PipelineScope): void {
    if (scope === this.#bound) return;
    if (this.#scope)
      throw new TableBindingError(
        this.name,
        this.#scope.agent,
        isLocalScope(scope) ? 'testPipeline' : scope.agent,
      );
    this.#bound = scope;
    if (isLocalScope(scope)) return;
    const agent = scope;
    this.#scope = agent;
    this.#localPart = undefined; // what was written with no agent was local
    this.#localApplied.clear();
    this.#changelog = new TableChangelog<V>({
      table: this.name,
      topic: this.changelogTopic,
      source: agent.topic,
      host: this.host,
      store: this.#store,
      stallTimeoutMs: this.options.stallTimeoutMs,
      replicationFactor: this.options.replicationFactor,
      standbys: this.options.standbys,
      standbyPollMs: this.options.standbyPollMs,
      lingerMs: Math.min(agent.commitIntervalMs ?? 0, MAX_LINGER_MS),
      ...(this.internals.changelogConfig ? { topicConfig: this.internals.changelogConfig } : {}),
      ...(this.internals.ready ? { ready: this.internals.ready } : {}),
    });
    const restored = agent.use(this.#resource);
    if (restored) this.#hold(restored);
  }

  /**
   * @internal The way in of every message that updates the table: binds the table to the message's
   * agent (its first message does), then runs `go(message)` now, or, while the partitions the agent
   * held when the table was bound are restored, once they are (in arrival order). Costs a comparison
   * per message once bound. Returns the error that keeps the message out, if any: a
   * {@link TableNotBoundError} for a message of no agent, a {@link TableBindingError} of another agent.
   */
  enter(
    message: Message<unknown, unknown>,
    go: (message: Message<unknown, unknown>) => void,
  ): TableNotBoundError | TableBindingError | undefined {
    const scope = scopeOf(message);
    if (scope !== this.#bound) {
      if (scope === undefined)
        return new TableNotBoundError(this.name, message.topic, message.partition, message.offset);
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

  /**
   * @internal Applies `update` for one message (see `updateTable`), reporting through `then` once the
   * change is durable (at once under test), or the failure; `then` gets the message too, so that one
   * function serves every message. `staged`, when given, is called once the change is made (not for a
   * redelivered record, nor when `update` threw) and returns headers for its changelog record.
   *
   * `early`: a change made is reported done at once, once queued for the changelog (the record cache):
   * the agent keeps only the record's offset from being committed until the change is durable, not the
   * message. A redelivered record still waits for its change to be durable.
   */
  apply(
    message: Message<unknown, unknown>,
    key: K,
    update: (current: C, message: Message<unknown, unknown>) => V,
    then: ApplyCallback<K, V>,
    staged?: () => Readonly<Record<string, string>>,
    early = false,
  ): void {
    const lineage = message[LINEAGE];
    if (Array.isArray(lineage))
      return then(
        failed(new TableUpdateOrderError(this.name, 'it takes one record per message, not an aggregate')),
        message,
      );
    let encodedKey: EncodedKey;
    try {
      encodedKey = this.#codecs.encodeKey(key);
    } catch (error) {
      return then(failed(error), message);
    }
    const sourcePartition = message.partition;
    let part: TablePartition<V> | undefined;
    let applied: AppliedOffsets;
    if (this.#changelog) {
      part = this.#changelog.partitions.get(sourcePartition);
      if (!part) return then(DROPPED, message); // revoked: the record is the new owner's
      if (part.state !== 'ready')
        return then(failed(new PartitionRecoveringError(this.name, sourcePartition)), message); // retried
      const keyPartition = this.#partitionOfKey(encodedKey);
      if (keyPartition !== sourcePartition)
        return then(failed(new RepartitionRequiredError(this.name, sourcePartition, keyPartition!)), message);
      applied = part.applied;
    } else {
      part = this.#local();
      applied = this.#localApplied.get(sourcePartition) ?? new AppliedOffsets();
      this.#localApplied.set(sourcePartition, applied);
    }
    const offset = message.offset;
    let current: C;
    try {
      current = (part.lookup(encodedKey.id, encodedKey.bytes, this.#decoder) ?? this.#default?.()) as C;
    } catch (error) {
      return then(failed(error), message);
    }
    if (applied.has(offset)) {
      if (lineage !== undefined && part.appliedBy(lineage as Lineage))
        return then(
          failed(
            new TableUpdateOrderError(
              this.name,
              `offset ${offset} of partition ${sourcePartition} reached the table twice in one attempt (fan-out before the table?)`,
            ),
          ),
          message,
        );
      // Delivered again (after a crash or a retry downstream): its change is in the table already.
      part.onDurable(offset, (durable) =>
        then(durable ? { kind: 'done', key, value: current as V, replayed: true } : DROPPED, message),
      );
      return;
    }
    // A copy made by a repartition is known by its origin: a second copy of a record has another offset.
    const hop = hopOrigin(message);
    if (hop !== undefined) {
      const origins = part.originOffsets();
      origins.note(hop, offset);
      if (origins.has(hop)) {
        part.onDurableHop(hop, (durable) =>
          then(durable ? { kind: 'done', key, value: current as V, replayed: true } : DROPPED, message),
        );
        return;
      }
    }
    if (offset < applied.floor)
      return then(
        failed(
          new TableUpdateOrderError(
            this.name,
            `offset ${offset} of partition ${sourcePartition} is below the committed offset ${applied.floor}; the table cannot tell whether it was applied`,
          ),
        ),
        message,
      );
    let value: V;
    let encoded: Buffer;
    let extra: Readonly<Record<string, string>> | undefined;
    try {
      value = update(current, message);
      encoded = this.valueCodec.encode(value);
      extra = staged?.();
    } catch (error) {
      return then(failed(error), message);
    }
    const scope = this.#scope;
    if (early && this.#changelog && scope?.holdCommit && lineage !== undefined) {
      const attempt = lineage as Lineage;
      const hold = scope.holdCommit(attempt);
      if (hold === undefined) return then(DROPPED, message); // revoked meanwhile: the new owner's
      applied.add(offset);
      if (hop !== undefined) part.originOffsets().add(hop);
      const held = new HeldWrite<V>(encodedKey.bytes, encoded, encodedKey.id, offset, scope, hold);
      held.hop = hop;
      part.stage(held, value);
      part.appliedNow(attempt);
      this.#changelog.write(part, held, extra);
      return then({ kind: 'done', key, value, replayed: false }, message);
    }
    applied.add(offset);
    if (hop !== undefined) part.originOffsets().add(hop);
    const write = new RecordWrite<K, V>(
      encodedKey.bytes,
      encoded,
      encodedKey.id,
      offset,
      lineage as Lineage | undefined,
      message,
      key,
      value,
      then,
    );
    write.hop = hop;
    part.stage(write, value);
    if (this.#changelog) this.#changelog.write(part, write, extra);
    else part.ackedLocally(write);
  }

  /**
   * @internal Writes a change that no source record made (`undefined` deletes the key: a tombstone),
   * with extra changelog headers; `then(true)` once durable, `then(false)` when it never will be (the
   * partition is not owned and ready here, or moved away meanwhile).
   */
  put(
    partition: number,
    key: K,
    value: V | undefined,
    headers: Readonly<Record<string, string>>,
    then: (durable: boolean) => void,
  ): void {
    const part = this.#changelog ? this.#changelog.partitions.get(partition) : this.#local();
    if (!part || part.state !== 'ready' || this.#closed) return then(false);
    const encodedKey = this.#codecs.encodeKey(key);
    const encoded = value === undefined ? null : this.valueCodec.encode(value);
    const write = new DirectWrite<V>(
      encodedKey.bytes,
      encoded,
      encodedKey.id,
      --this.#directWrites,
      this.#open,
      then,
    );
    part.stage(write, value as V);
    if (this.#changelog) this.#changelog.write(part, write, headers);
    else part.ackedLocally(write);
  }

  /** @internal The key's bytes as a map key (latin1), from the table's cache of encodings. */
  keyId(key: K): string {
    return this.#codecs.encodeKey(key).id;
  }

  /** @internal Headers of the changelog's last record when `partition` was restored (none under test). */
  restoredHeaders(partition: number): MessageHeaders | undefined {
    return this.#part(partition)?.restoredHeaders;
  }

  /**
   * @internal Whether the record of `message` changed the table already (it is delivered again, or it
   * is a second copy of a record that came through a repartition hop).
   */
  wasApplied(message: Message<unknown, unknown>): boolean {
    const applied = this.#changelog
      ? this.#changelog.partitions.get(message.partition)?.applied
      : this.#localApplied.get(message.partition);
    if (applied?.has(message.offset)) return true;
    const origins = this.#changelog
      ? this.#changelog.partitions.get(message.partition)?.origins
      : this.#localPart?.origins;
    if (origins === undefined) return false;
    const hop = hopOrigin(message);
    return hop !== undefined && origins.has(hop);
  }

  /** @internal Whether `partition` is owned here and restored (under test: partition 0, always). */
  isReady(partition: number): boolean {
    if (!this.#scope) return partition === 0;
    return this.#part(partition)?.state === 'ready';
  }

  #local(): TablePartition<V> {
    if (!this.#localPart) {
      this.#localPart = new TablePartition<V>(0, this.#store, this.host.logger);
      this.#localPart.state = 'ready';
    }
    return this.#localPart;
  }

  /** An owned partition: the changelog's (bound to an agent), or the local one under test once made. */
  #part(partition: number): TablePartition<V> | undefined {
    if (this.#changelog) return this.#changelog.partitions.get(partition);
    return partition === 0 ? this.#localPart : undefined;
  }

  /** The partition of a key: 0 under test, undefined until the partition count is known. */
  #partitionOfKey(key: EncodedKey): number | undefined {
    if (!this.#scope) return 0;
    const count = this.#changelog?.partitionCount;
    if (count === undefined) return undefined;
    return this.#codecs.partitionOf(key, count);
  }

  #readable(partition: number | undefined): TablePartition<V> {
    if (!this.#scope && partition === 0) return this.#local();
    const part = partition === undefined ? undefined : this.#part(partition);
    if (!part) throw new PartitionNotOwnedError(this.name, partition);
    if (part.state !== 'ready') throw new PartitionRecoveringError(this.name, part.partition);
    return part;
  }
}
