import type { Codec } from '../codecs/codec.js';
import type { Message, MessageHeaders } from '../core/message.js';
import type { AgentScope, PipelineScope } from '../agent/partition-resources.js';
import { TableCodecs } from './table-codecs.js';
import { type ApplyContext, type ApplyOptions, applyUpdate, wasApplied } from './table-apply.js';
import { TableBinding, type TableHost, type TableInternals } from './table-binding.js';
import { TableLocal } from './table-local.js';
import { tableStats } from './table-stats.js';
import { type ApplyCallback, DirectWrite } from './table-write.js';
import type { TableBindingError, TableNotBoundError } from './table-errors.js';
import type { TableStore } from './stores/table-store.js';
import { MemoryTableStore } from './stores/memory-table-store.js';

import type { TableKeyPage, TableOptions, TableStats } from './table-types.js';

export type {
  TableKeyPage,
  TableOptions,
  TablePartitionStats,
  TableStandbyStats,
  TableState,
  TableStats,
} from './table-types.js';
export type { TableHost, TableInternals } from './table-binding.js';
export type { ApplyCallback, ApplyOutcome } from './table-write.js';
export type { ApplyOptions } from './table-apply.js';

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
  /** The table's state under test (no agent). */
  readonly #local: TableLocal<V>;
  readonly #codecs: TableCodecs<K, V>;
  readonly #decoder = (bytes: Buffer): V => this.#codecs.decodeValue(bytes);
  readonly #open = (): boolean => !this.#closed;
  /** What the table is bound to, and the partitions that follow from it. */
  readonly #binding: TableBinding<K, V>;
  /** What the update path reads and writes through. */
  readonly #applying: ApplyContext<K, V>;
  /** Ids of changes not made for a source record ({@link Table.put}): negative, never an offset. */
  #directWrites = 0;
  #closed = false;

  /** @internal Use `app.table()`. */
  constructor(
    host: TableHost,
    readonly name: string,
    keyCodec: Codec<K>,
    valueCodec: Codec<V>,
    options: TableOptions<K, V>,
    internals: TableInternals = {},
  ) {
    this.changelogTopic = `${host.appId}-${name}-changelog`;
    this.keyCodec = keyCodec;
    this.valueCodec = valueCodec;
    this.#codecs = new TableCodecs(name, keyCodec, valueCodec);
    this.#default = options.default;
    this.#store = options.store?.() ?? new MemoryTableStore();
    this.#local = new TableLocal<V>(this.#store, host.logger);
    this.#binding = new TableBinding<K, V>({
      table: name,
      changelogTopic: this.changelogTopic,
      host,
      store: this.#store,
      codecs: this.#codecs,
      options,
      internals,
      local: this.#local,
    });
    this.#applying = {
      table: name,
      codecs: this.#codecs,
      decoder: this.#decoder,
      default: this.#default,
      binding: this.#binding,
      local: this.#local,
    };
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
    const part = this.#binding.readable(this.#binding.partitionOfKey(encoded));
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
    if (!this.#binding.scope) return 0;
    return this.#binding.changelog?.partitionCount === undefined
      ? undefined
      : this.#binding.partitionOfKey(this.#codecs.encodeKey(key));
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
    return partition !== undefined && this.#binding.part(partition)?.state === 'ready';
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
    this.#binding.readable(partition);
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
    return this.#binding.ownedPartitions();
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
    return tableStats(this, this.#binding, this.#store);
  }

  /** @internal Lets go of the store and the changelog writer (the app stopped). */
  async close(): Promise<void> {
    this.#closed = true;
    const parts = this.ownedPartitions().map((partition) => this.#binding.part(partition)!);
    const standbysStopped = this.#binding.changelog?.close();
    await Promise.all([...parts.map((part) => part.stored()), standbysStopped]);
    this.#local.dropPart();
    await this.#store.close();
  }

  /** @internal The agent the table is bound to (undefined: local, or not bound yet). */
  get agentScope(): AgentScope | undefined {
    return this.#binding.scope;
  }

  /**
   * @internal Binds the table to `scope`, once: an agent (its partitions registered with it; those it
   * holds already are restored while the messages wait, see {@link Table.enter}), or the local scope of
   * a test (which an agent may replace: what a test wrote was local).
   * @throws {@link TableBindingError} when bound to another agent already.
   */
  bind(scope: PipelineScope): void {
    this.#binding.bind(scope);
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
    return this.#binding.enter(message, go);
  }

  /**
   * @internal Applies `update` for one message (see `updateTable`), reporting through `then` once the
   * change is durable (at once under test), or the failure; `then` gets the message too, so that one
   * function serves every message. See {@link ApplyOptions} for the record cache (`early`), headers of
   * the change's own (`staged`) and being told when the change is durable (`durable`).
   */
  apply(
    message: Message<unknown, unknown>,
    key: K,
    update: (current: C, message: Message<unknown, unknown>) => V,
    then: ApplyCallback<K, V>,
    options?: ApplyOptions<V>,
  ): void {
    applyUpdate(this.#applying, message, key, update, then, options);
  }

  /**
   * @internal Writes a change that no source record made (`undefined` deletes the key: a tombstone),
   * with extra changelog headers; `then(true)` once durable, `then(false)` when it never will be (the
   * partition is not owned and ready here, or moved away meanwhile). `lingers`: nobody waits for it
   * soon (a closed window's removal), so it may wait for the record cache's next flush.
   */
  put(
    partition: number,
    key: K,
    value: V | undefined,
    headers: Readonly<Record<string, string>>,
    then: (durable: boolean) => void,
    options: { readonly lingers?: boolean } = {},
  ): void {
    const changelog = this.#binding.changelog;
    const part = changelog ? changelog.partitions.get(partition) : this.#local.part();
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
      options.lingers === true,
    );
    part.stage(write, value as V);
    if (changelog) changelog.write(part, write, headers);
    else part.ackedLocally(write);
  }

  /** @internal The key's bytes as a map key (latin1), from the table's cache of encodings. */
  keyId(key: K): string {
    return this.#codecs.encodeKey(key).id;
  }

  /** @internal Headers of the changelog's last record when `partition` was restored (none under test). */
  restoredHeaders(partition: number): MessageHeaders | undefined {
    return this.#binding.part(partition)?.restoredHeaders;
  }

  /**
   * @internal Whether the record of `message` changed the table already (it is delivered again, or it
   * is a second copy of a record that came through a repartition hop).
   */
  wasApplied(message: Message<unknown, unknown>): boolean {
    return wasApplied(this.#applying, message);
  }

  /** @internal Whether `partition` is owned here and restored (under test: partition 0, always). */
  isReady(partition: number): boolean {
    if (!this.#binding.scope) return partition === 0;
    return this.#binding.part(partition)?.state === 'ready';
  }
}
