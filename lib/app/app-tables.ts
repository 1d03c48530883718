import type { Observable } from 'rxjs';
import type { Codec } from '../codecs/codec.js';
import { json } from '../codecs/json.js';
import { string } from '../codecs/string.js';
import { ConfigurationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { GlobalTable, type GlobalTableOptions } from '../tables/global-table.js';
import { Table, type TableOptions } from '../tables/table.js';
import type { Topic, TopicOptions } from '../topics/topic.js';
import type { Transport } from '../transports/transport.js';
import { WindowTable } from '../windows/window-table.js';
import type { StreamJoin } from '../joins/stream-join.js';
import type { JoinType } from '../joins/join-state.js';
import type { WindowTableOptions } from '../windows/window-types.js';

/** What the tables of an app need from it. @internal */
export interface AppTablesHost {
  readonly id: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  transportFor(topic: Topic<unknown, unknown>): Promise<Transport>;
  topic<T, K>(name: string, options: TopicOptions<T, K>): Topic<T, K>;
  onStop(hook: () => unknown): void;
  /** Emits once, when the app begins to stop. */
  readonly stopping$: Observable<void>;
  /** Whether the app has started (a global table declared later starts at once). */
  started(): boolean;
}

/**
 * The state an app declares: its tables, windowed tables and global tables, one registry for the three
 * (a name is declared once among them), each closed when the app stops. `App` is its facade.
 *
 * @example
 * ```ts
 * const tables = new AppTables(host);
 * const counts = tables.table('counts', { value: json(z.number()), default: () => 0 });
 * await tables.startGlobal(); // before any agent starts
 * ```
 * @internal
 */
export class AppTables {
  readonly tables = new Map<string, Table<unknown, unknown>>();
  readonly windowTables = new Map<string, WindowTable<unknown, unknown, unknown>>();
  readonly globalTables = new Map<string, GlobalTable<unknown, unknown>>();
  readonly streamJoins = new Map<string, StreamJoin<unknown, unknown, unknown, JoinType>>();

  constructor(private readonly host: AppTablesHost) {}

  table<V, K>(name: string, options: TableOptions<K, V>): Table<K, V, V | undefined> {
    this.#claim(name);
    const table = new Table<K, V, V | undefined>(
      this.#tableHost(),
      name,
      options.key ?? (string() as Codec<K>),
      options.value ?? (json() as Codec<V>),
      options,
    );
    this.tables.set(name, table as unknown as Table<unknown, unknown>);
    this.host.onStop(() => table.close());
    return table;
  }

  windowTable<T, A, K>(name: string, options: WindowTableOptions<T, A, K>): WindowTable<K, T, A> {
    this.#claim(name);
    const windows = new WindowTable<K, T, A>(this.#tableHost(), name, options);
    this.tables.set(name, windows.table as unknown as Table<unknown, unknown>);
    this.windowTables.set(name, windows as unknown as WindowTable<unknown, unknown, unknown>);
    this.host.onStop(() => windows.table.close());
    return windows;
  }

  globalTable<V, K>(name: string, options: GlobalTableOptions<V, K>): GlobalTable<K, V> {
    this.#claim(name);
    const topic =
      typeof options.topic === 'object'
        ? options.topic
        : this.host.topic<V, K>(options.topic ?? name, {
            ...(options.value ? { value: options.value } : {}),
            ...(options.key ? { key: options.key } : {}),
            ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
            config: { 'cleanup.policy': 'compact' },
          });
    const table: GlobalTable<K, V> = new GlobalTable<K, V>(
      {
        appId: this.host.id,
        logger: this.host.logger,
        transport: () => this.host.transportFor(topic as Topic<unknown, unknown>),
      },
      name,
      topic,
      options,
    );
    this.globalTables.set(name, table as unknown as GlobalTable<unknown, unknown>);
    this.host.stopping$.subscribe(() => void table.stop());
    this.host.onStop(() => table.close());
    if (this.host.started())
      table
        .start()
        .catch((error: unknown) =>
          this.host.logger.error({ err: error, table: name }, 'global table failed to start'),
        );
    return table;
  }

  /** Lists a stream join declared by `joinStreams`, and its state as the table `<name>-join`. */
  streamJoin(join: StreamJoin<unknown, unknown, unknown, JoinType>): void {
    this.#claim(join.table.name);
    if (this.streamJoins.has(join.name))
      throw new ConfigurationError(`Stream join ${join.name} is declared twice`);
    this.tables.set(join.table.name, join.table as unknown as Table<unknown, unknown>);
    this.streamJoins.set(join.name, join);
    this.host.onStop(() => join.table.close());
  }

  /** Restores every global table (its topic up to the end offsets seen now). */
  async startGlobal(): Promise<void> {
    await Promise.all([...this.globalTables.values()].map((table) => table.start()));
  }

  /** Throws a `ConfigurationError` when a table of any kind has that name already. */
  #claim(name: string): void {
    if (this.tables.has(name) || this.globalTables.has(name))
      throw new ConfigurationError(`Table ${name} is declared twice`);
  }

  #tableHost() {
    return { appId: this.host.id, logger: this.host.logger, transport: () => this.host.transport() };
  }
}
