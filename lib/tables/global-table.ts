import { type Subscription, asyncScheduler } from 'rxjs';
import type { Codec } from '../codecs/codec.js';
import { ConfigurationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Topic } from '../topics/topic.js';
import type { Transport } from '../transports/transport.js';
import { GlobalTableNotReadyError } from './global-table-errors.js';
import { CopyPositions } from './global-table-positions.js';
import { restoreGlobalTable } from './global-table-restore.js';
import { GlobalTableTail } from './global-table-tail.js';
import type { GlobalTableOptions, GlobalTableState, GlobalTableStats } from './global-table-types.js';
import { MemoryTableStore } from './stores/memory-table-store.js';
import type { TableStore } from './stores/table-store.js';
import { type EncodedKey, TableCodecs } from './table-codecs.js';
import type { TableKeyPage } from './table-types.js';

export type {
  GlobalTableOptions,
  GlobalTablePartitionStats,
  GlobalTableState,
  GlobalTableStats,
} from './global-table-types.js';

/** What a global table needs from its app. @internal */
export interface GlobalTableHost {
  readonly appId: string;
  readonly logger: Logger;
  /** The connected transport, with the table's topic created. */
  transport(): Promise<Transport>;
}

/**
 * Reference data held whole by every worker: a table whose every partition lives on every worker of
 * the app, fed by a compacted topic ({@link GlobalTable.topic}: `send` a row with its key to set it,
 * {@link GlobalTable.delete} sends a tombstone). The last record of each key wins, in its partition's
 * order; a tombstone deletes the row.
 *
 * On `app.start()` each worker reads every partition of the topic up to the end offsets it saw then
 * (from its store's checkpoint when the store is persistent); `app.start()` resolves, and agents
 * start, only once every global table has. Afterwards a consumer of a private group of this worker
 * (`<app id>.global.<name>.<uuid>`, never committing) follows the topic, so changes show a moment
 * after they were written. Reads are synchronous and local: any key, on any worker. Before the table
 * is ready, reads throw {@link GlobalTableNotReadyError}.
 *
 * Unlike {@link Table}, nothing here is exact per source record: the topic is the truth, and every
 * worker converges to it (the last record of each key wins, in its partition's order).
 *
 * @example
 * ```ts
 * const customers = app.globalTable('customers', { value: json(Customer) });
 * await customers.topic.send({ name: 'Ada', region: 'eu' }, { key: 'c1' });
 * app.agent('enrich', orders, (order$) =>
 *   order$.pipe(joinTable(customers, (order, customer) => ({ ...order, region: customer.region }), {
 *     key: (m) => m.value.customer,
 *   })),
 * );
 * await app.start(); // customers is restored first
 * customers.get('c1'); // { name: 'Ada', region: 'eu' }
 * ```
 */
export class GlobalTable<K = string, V = unknown> {
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
  readonly #codecs: TableCodecs<K, V>;
  readonly #store: TableStore;
  readonly #decoder = (bytes: Buffer): V => this.#codecs.decodeValue(bytes);
  #state: GlobalTableState = 'idle';
  #partitionCount: number | undefined;
  /** Where this worker's copy of each partition is, and its lag. */
  readonly #positions = new CopyPositions();
  #starting: Promise<void> | undefined;
  #stopped = false;
  readonly #abort = new AbortController();
  /** Follows the topic once restored. */
  readonly #tail: GlobalTableTail;
  /** The refresh of the end offsets (the lag). */
  #lag: Subscription | undefined;

  /** @internal Use `app.globalTable()`. */
  constructor(
    private readonly host: GlobalTableHost,
    readonly name: string,
    /** The compacted topic that feeds the table: `send` to it to change a row. */
    readonly topic: Topic<V, K>,
    private readonly options: GlobalTableOptions<V, K> = {},
  ) {
    this.keyCodec = topic.keyCodec;
    this.valueCodec = topic.valueCodec;
    this.#codecs = new TableCodecs(name, topic.keyCodec, topic.valueCodec);
    const refresh = options.lagRefreshMs;
    if (refresh !== undefined && !(Number.isFinite(refresh) && refresh > 0))
      throw new ConfigurationError(
        `Global table ${name}: lagRefreshMs must be a positive number, not ${refresh}`,
      );
    this.#store = options.store?.() ?? new MemoryTableStore();
    this.#tail = new GlobalTableTail({
      appId: host.appId,
      table: name,
      topic: topic.name,
      logger: host.logger,
      store: this.#store,
      positions: this.#positions,
      partitionCount: () => this.#partitionCount,
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    });
  }

  /**
   * The row of `key` in this worker's copy, or `undefined`: synchronous, for any key.
   * @throws {@link GlobalTableNotReadyError} before the table was restored (before `app.start()` resolved).
   *
   * @example
   * ```ts
   * const customer = customers.get(order.customer);
   * ```
   */
  get(key: K): V | undefined {
    const { partition, encoded } = this.#locate(key);
    const bytes = this.#store.get(partition, encoded.bytes);
    return bytes === undefined ? undefined : this.#decoder(bytes);
  }

  /**
   * Whether `key` has a row in this worker's copy.
   * @throws {@link GlobalTableNotReadyError} before the table was restored.
   *
   * @example
   * ```ts
   * if (!customers.has(order.customer)) console.warn('unknown customer');
   * ```
   */
  has(key: K): boolean {
    const { partition, encoded } = this.#locate(key);
    return this.#store.get(partition, encoded.bytes) !== undefined;
  }

  /**
   * Rows in this worker's copy, over every partition.
   * @throws {@link GlobalTableNotReadyError} before the table was restored.
   *
   * @example
   * ```ts
   * console.log(`${customers.size} customers`);
   * ```
   */
  get size(): number {
    this.#ready();
    let size = 0;
    for (const partition of this.#positions.partitions()) size += this.#store.size(partition);
    return size;
  }

  /**
   * A page of the keys of one partition of the topic, in byte order of their encoding.
   * @throws {@link GlobalTableNotReadyError} before the table was restored.
   * @throws RangeError for a partition the topic does not have.
   *
   * @example
   * ```ts
   * for (const partition of customers.partitions()) console.log(customers.keys(partition, { limit: 10 }).keys);
   * ```
   */
  keys(partition: number, page: { readonly after?: K; readonly limit?: number } = {}): TableKeyPage<K> {
    this.#ready();
    if (!this.#positions.has(partition))
      throw new RangeError(`Global table ${this.name}: its topic has no partition ${partition}`);
    const result = this.#store.keys(partition, {
      ...(page.after !== undefined ? { after: this.keyCodec.encode(page.after) } : {}),
      ...(page.limit !== undefined ? { limit: page.limit } : {}),
    });
    const keys = result.keys.map((bytes) => this.#codecs.decodeKey(bytes));
    return result.next ? { keys, next: this.#codecs.decodeKey(result.next) } : { keys };
  }

  /**
   * The partitions of the topic, ascending (every one of them is held here; empty before start).
   *
   * @example
   * ```ts
   * const all = customers.partitions().flatMap((p) => customers.keys(p, { limit: 1000 }).keys);
   * ```
   */
  partitions(): number[] {
    return this.#positions.partitions();
  }

  /**
   * Deletes `key` from the table everywhere: sends a tombstone (a record with no value) to the topic.
   * Resolves when the broker has it; each worker's copy drops the row a moment later.
   *
   * @example
   * ```ts
   * await customers.delete('c1');
   * ```
   */
  async delete(key: K): Promise<void> {
    const transport = await this.host.transport();
    await transport.produce([{ topic: this.topic.name, key: this.keyCodec.encode(key), value: null }]);
  }

  /**
   * Counters of this worker's copy right now: per partition the position, the end offset last fetched
   * and the lag between them.
   *
   * @example
   * ```ts
   * const lag = customers.stats().partitions.reduce((sum, p) => sum + p.lag, 0);
   * ```
   */
  stats(): GlobalTableStats {
    const readable = this.#state !== 'closed';
    return {
      name: this.name,
      topic: this.topic.name,
      store: this.#store.description,
      state: this.#state,
      partitionCount: this.#partitionCount,
      partitions: this.partitions().map((partition) => ({
        partition,
        keys: readable ? this.#store.size(partition) : 0,
        ...this.#positions.of(partition),
      })),
      tailRestarts: this.#tail.restarts,
    };
  }

  /**
   * @internal Restores the table (every partition up to the end offsets seen now), then follows the
   * topic. Resolves once restored; called by `app.start()`, once.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** @internal Stops following the topic and the lag refresh; reads still answer until `close`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    this.#lag?.unsubscribe();
    await this.#tail.stop();
    await this.#starting?.catch(() => undefined);
  }

  /** @internal Stops, then lets go of the store (the app stopped). */
  async close(): Promise<void> {
    await this.stop();
    this.#state = 'closed';
    await this.#store.close();
  }

  async #start(): Promise<void> {
    try {
      await this.#restoreAndFollow();
    } catch (error) {
      if (this.#stopped) return; // the app stopped while this table restored
      throw error;
    }
  }

  async #restoreAndFollow(): Promise<void> {
    this.#state = 'restoring';
    const transport = await this.host.transport();
    const positions = await restoreGlobalTable({
      table: this.name,
      topic: this.topic.name,
      transport,
      store: this.#store,
      logger: this.host.logger,
      signal: this.#abort.signal,
      ...(this.options.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.options.stallTimeoutMs } : {}),
      counted: (partitionCount) => (this.#partitionCount = partitionCount),
    });
    for (const { partition, position } of positions) this.#positions.restored(partition, position);
    if (this.#stopped) return;
    this.#state = 'ready';
    this.host.logger.info(
      { table: this.name, topic: this.topic.name, partitions: positions.length, keys: this.size },
      'global table restored',
    );
    await this.#tail.start(transport);
    if (this.#stopped) return;
    const refreshMs = this.options.lagRefreshMs ?? 5_000;
    this.#lag = this.#positions.followEnds(
      transport,
      this.topic.name,
      refreshMs,
      this.options.scheduler ?? asyncScheduler,
    );
  }

  #locate(key: K): { partition: number; encoded: EncodedKey } {
    const count = this.#ready();
    const encoded = this.#codecs.encodeKey(key);
    return { partition: this.#codecs.partitionOf(encoded, count), encoded };
  }

  /** The partition count; throws unless the table is ready. */
  #ready(): number {
    if (this.#state !== 'ready' || this.#partitionCount === undefined)
      throw new GlobalTableNotReadyError(this.name, this.#state);
    return this.#partitionCount;
  }
}
