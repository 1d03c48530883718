import type { Observable, Observer, OperatorFunction, TeardownLogic } from 'rxjs';
import { AppTables } from './app-tables.js';
import { AppAgents } from './app-agents.js';
import { AppLifecycle } from './app-lifecycle.js';
import { AppTopics } from './app-topics.js';
import type { Transport } from '../transports/transport.js';
import {
  type CrontabOptions,
  type TimerOptions,
  type TimerTick,
  crontab,
  periodicTimer,
} from '../timers/timers.js';
import type { Agent, AgentOptions, AgentPipeline, Pipeline } from '../agent/agent.js';
import { ConfigurationError } from '../core/errors.js';
import type { AppOptions, RunOptions } from './app-options.js';
import { type Logger, defaultLogger } from '../core/logger.js';
import { type SinkEvent, type SinkHealth, SinkHealthRegistry } from '../core/sink-health.js';
import type { Message } from '../core/message.js';
import type { DirectTopic } from '../topics/topic-stream.js';
import { Topic, type TopicHost, type TopicOptions } from '../topics/topic.js';
import type { Table, TableOptions } from '../tables/table.js';
import type { WindowTable } from '../windows/window-table.js';
import type { GlobalTable, GlobalTableOptions } from '../tables/global-table.js';
import type { WindowTableOptions } from '../windows/window-types.js';
import type { StreamJoin } from '../joins/stream-join.js';
import type { JoinType } from '../joins/join-state.js';

export type { AppOptions, RunOptions } from './app-options.js';

/**
 * A rivulet application: its topics, its agents and the broker connection they share.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'feed', broker: process.env.KAFKA_URL ?? 'memory://' });
 * const activities = app.topic('feed_activities', { value: json(Activity) });
 * app.agent('save', activities, (activity$) => activity$.pipe(bufferTime(50), toRedis(redis, zaddActivity)));
 * await app.run();
 * ```
 */
export class App implements TopicHost {
  readonly id: string;
  readonly logger: Logger;
  /** Its topics and the broker connection they are created on. */
  readonly #topics: AppTopics;
  /** Its agents, declared and of direct subscriptions. */
  readonly #agents: AppAgents;
  /** Its tables, windowed tables and global tables. */
  readonly #tables: AppTables;
  /** Started, stopping, stopped; the failure that stopped it. */
  readonly #lifecycle: AppLifecycle;
  /** The health and writes of this app's sinks (its agents' own, shared with no other app). */
  readonly #sinkHealth = new SinkHealthRegistry();

  /** @internal Use {@link createApp}. */
  constructor(options: AppOptions) {
    if (!options.id) throw new ConfigurationError('createApp needs an id');
    this.id = options.id;
    this.logger = options.logger ?? defaultLogger(options.id);
    this.#topics = new AppTopics({ options, logger: this.logger, topicHost: this });
    this.#lifecycle = new AppLifecycle({
      logger: this.logger,
      connect: () => this.transport(),
      startGlobal: () => this.#tables.startGlobal(),
      startAgents: () => this.#agents.start(),
      stoppable: () => ({ agents: this.#agents.stoppable(), connection: this.#topics.connection }),
      options,
    });
    this.#agents = new AppAgents({
      options,
      logger: this.logger,
      transport: () => this.transport(),
      sinkHealth: this.#sinkHealth,
      topic: (name) => this.#topics.get(name),
      started: () => this.#lifecycle.started,
      stopping: () => this.#lifecycle.stopping,
      onAgentFailed: (agent, error) => this.#lifecycle.agentFailed(agent.name, error),
    });
    this.#tables = new AppTables({
      id: this.id,
      logger: this.logger,
      transport: () => this.transport(),
      transportFor: (topic) => this.transportFor(topic),
      topic: (name, topicOptions) => this.topic(name, topicOptions),
      onStop: (hook) => this.onStop(hook),
      stopping$: this.#lifecycle.stopping$,
      started: () => this.#lifecycle.started,
    });
  }

  /** The agents declared so far. */
  get agents(): readonly Agent<unknown, unknown>[] {
    return this.#agents.list;
  }

  /** The windowed tables declared so far, by name (each is in {@link App.tables} too). */
  get windowTables(): ReadonlyMap<string, WindowTable<unknown, unknown, unknown>> {
    return this.#tables.windowTables;
  }

  /**
   * The stream–stream joins declared so far (`joinStreams`), by name; each one's state is in
   * {@link App.tables} too, as `<name>-join`.
   */
  get streamJoins(): ReadonlyMap<string, StreamJoin<unknown, unknown, unknown, JoinType>> {
    return this.#tables.streamJoins;
  }

  /** @internal Lists a stream join `joinStreams` declared (and its state among the tables). */
  addStreamJoin(join: StreamJoin<unknown, unknown, unknown, JoinType>): void {
    this.#tables.streamJoin(join);
  }

  /** The global tables declared so far, by name. */
  get globalTables(): ReadonlyMap<string, GlobalTable<unknown, unknown>> {
    return this.#tables.globalTables;
  }

  /** The tables declared so far, by name. */
  get tables(): ReadonlyMap<string, Table<unknown, unknown>> {
    return this.#tables.tables;
  }

  /**
   * The health of every sink that wrote, or tried to, for an agent of this app: one entry per agent and
   * sink name. Another app of the same process has its own.
   *
   * @example
   * ```ts
   * const failing = app.sinkHealth().filter((sink) => sink.state === 'failing');
   * for (const sink of failing) console.warn(`${sink.name} of ${sink.agent}: ${sink.lastError}`);
   * ```
   */
  sinkHealth(): readonly SinkHealth[] {
    return this.#sinkHealth.list();
  }

  /**
   * Each change of state of a sink of this app (ok → failing, failing → ok), as it happens.
   *
   * @example
   * ```ts
   * app.sinkHealthChanges$.subscribe((sink) => console.log(`${sink.agent}/${sink.name} is ${sink.state}`));
   * ```
   */
  get sinkHealthChanges$(): Observable<SinkHealth> {
    return this.#sinkHealth.changes$;
  }

  /**
   * Every write of a sink of this app, as it finishes (its retries included). The worker's `/metrics`
   * counts them; subscribe to log or measure them yourself.
   *
   * @example
   * ```ts
   * app.sinkEvents$.subscribe((event) => histogram.observe({ sink: event.sink }, event.durationMs / 1000));
   * ```
   */
  get sinkEvents$(): Observable<SinkEvent> {
    return this.#sinkHealth.events$;
  }

  /** The error that made the app stop, if an agent failed. */
  get failure(): Error | undefined {
    return this.#lifecycle.failure;
  }

  /**
   * Declares a topic. Declaring the same name again the same way (same codecs, partitions, replication
   * factor and config) returns the same Topic; declaring it differently throws a `ConfigurationError`
   * naming both declarations.
   *
   * @example
   * ```ts
   * const orders = app.topic('orders', { value: json(Order), partitions: 6 });
   * ```
   */
  topic<T = unknown, K = string>(name: string, options: TopicOptions<T, K> = {}): Topic<T, K> {
    return this.#topics.declare(name, options, Topic.declarationSite());
  }

  /**
   * Declares a table: keyed state sharded like the topic of the agent that updates it (with
   * `updateTable`), its changes in the compacted topic `<app id>-<name>-changelog`, restored when its
   * partitions are assigned. Keys default to `string()`, values to `json()`. With `default`, an absent
   * key reads as `default()`. Declaring a name twice throws a `ConfigurationError`.
   *
   * @example
   * ```ts
   * const counts = app.table('counts', { value: json(z.number()), default: () => 0 });
   * app.agent('count', orders, (order$) => order$.pipe(updateTable(counts, (n) => n + 1)));
   * ```
   */
  table<V = unknown, K = string>(
    name: string,
    options: TableOptions<K, V> & { readonly default: () => V },
  ): Table<K, V, V>;
  /**
   * Declares a table without a default: an absent key reads as `undefined`.
   *
   * @example
   * ```ts
   * const lastPrice = app.table('last-price', { value: json(z.number()) }); // get() → number | undefined
   * ```
   */
  table<V = unknown, K = string>(name: string, options?: TableOptions<K, V>): Table<K, V, V | undefined>;
  table<V, K>(name: string, options: TableOptions<K, V> = {}): Table<K, V, V | undefined> {
    return this.#tables.table(name, options);
  }

  /**
   * Declares a windowed table: per key, tumbling, hopping or sliding windows of an aggregate, kept in a
   * changelogged table (`<app id>-<name>-changelog`, compacted, retention size + grace + a margin),
   * updated with `aggregateWindows`, which emits one final result per window and key when it closes.
   * It is listed in {@link App.tables} (its value per key: the key's open windows) like any table.
   *
   * @example
   * ```ts
   * const perMinute = app.windowTable('orders-per-minute', { window: tumbling(60_000), aggregate: count(), graceMs: 5_000 });
   * ```
   */
  windowTable<T = unknown, A = unknown, K = string>(
    name: string,
    options: WindowTableOptions<T, A, K>,
  ): WindowTable<K, T, A> {
    return this.#tables.windowTable(name, options);
  }

  /**
   * Declares a global table: reference data of which every worker holds every partition, fed by the
   * compacted topic `options.topic` (default: the topic named `name`, declared with
   * `cleanup.policy=compact`; `send` to `globalTable.topic` to change a row). `start()` restores every
   * global table (reads its topic up to the end offsets seen then) before any agent starts; then each
   * follows its topic. Reads are synchronous, for any key, on any worker. Join a stream with it with
   * `joinTable`. Declaring a name twice throws a `ConfigurationError`.
   *
   * @example
   * ```ts
   * const customers = app.globalTable('customers', { value: json(Customer), partitions: 3 });
   * await customers.topic.send({ name: 'Ada', region: 'eu' }, { key: 'c1' });
   * ```
   */
  globalTable<V = unknown, K = string>(
    name: string,
    options: GlobalTableOptions<V, K> = {},
  ): GlobalTable<K, V> {
    return this.#tables.globalTable(name, options);
  }

  /**
   * Declares an agent: `pipeline` runs over the topic's messages in the consumer group
   * `<app id>.<name>`, under rivulet's processing contract (see the README).
   *
   * @example
   * ```ts
   * app.agent('confirm-orders', orders, (order$) => order$.pipe(toHttp(emailer, confirmation)), {
   *   maxInFlight: 1000,
   *   errors: { retries: 5, onFailure: 'dead-letter' },
   * });
   * ```
   */
  agent<T, K, R extends Observable<unknown>>(
    name: string,
    topic: Topic<T, K>,
    pipeline: AgentPipeline<T, K, R>,
    options: AgentOptions = {},
  ): Agent<T, K> {
    return this.#agents.declare(name, topic, pipeline as Pipeline<T, K>, options);
  }

  /**
   * Connects, creates the declared topics, restores every global table (reads its topic up to the end
   * offsets seen now) and then starts every agent.
   *
   * @example
   * ```ts
   * await app.start();
   * ```
   */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /**
   * Stops gracefully: agents stop fetching, in-flight messages settle (within `shutdownTimeoutMs`),
   * offsets are committed, and the broker connection closes. Safe to call more than once.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void app.stop());
   * ```
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  /**
   * Emits once, when `stop()` begins (before the agents have drained), then completes; a subscriber that
   * comes later gets that emission at once. `takeUntil(app.stopping$)` ends your own streams with the app.
   *
   * @example
   * ```ts
   * prices$.pipe(takeUntil(app.stopping$)).subscribe(updateCache);
   * ```
   */
  get stopping$(): Observable<void> {
    return this.#lifecycle.stopping$;
  }

  /**
   * Fires every `periodMs` milliseconds (the first time `periodMs` after subscribing) and completes when
   * the app begins to stop: periodic work inside an app, such as publishing a snapshot every minute. Cold:
   * each subscription has its own schedule. A `stop$` in the options ends it earlier; a `scheduler` (a
   * `TestScheduler`) runs it in virtual time. See {@link periodicTimer}.
   *
   * @example
   * ```ts
   * app.timer(60_000).pipe(exhaustMap(() => snapshots.send(snapshot()))).subscribe();
   * ```
   */
  timer(periodMs: number, options: TimerOptions = {}): Observable<TimerTick> {
    return periodicTimer(periodMs, { ...options, stop$: this.#lifecycle.stopWith(options.stop$) });
  }

  /**
   * Fires at the times a cron expression names, read in `options.timezone` (UTC unless told), and completes
   * when the app begins to stop. A bad expression or time zone throws `InvalidCronExpressionError` at
   * once. See {@link crontab}.
   *
   * @example
   * ```ts
   * app.crontab('0 9 * * 1-5', { timezone: 'Europe/Paris' }).subscribe(() => void sendDailyReport());
   * ```
   */
  crontab(expression: string, options: CrontabOptions = {}): Observable<TimerTick> {
    return crontab(expression, { ...options, stop$: this.#lifecycle.stopWith(options.stop$) });
  }

  /**
   * Runs `hook` when the app has stopped: after the agents drained and committed and the broker
   * connection closed. The place to close the clients the sinks used. Hooks run in reverse order of
   * registration; one that throws is logged and the others still run.
   *
   * @example
   * ```ts
   * const redis = new Redis(process.env.REDIS_URL);
   * app.onStop(() => redis.disconnect());
   * ```
   */
  onStop(hook: () => unknown): void {
    this.#lifecycle.onStop(hook);
  }

  /**
   * Starts the app and resolves when it has stopped: after `stop()`, or SIGINT/SIGTERM. Rejects with
   * {@link AgentFailedError} when an agent failed (the app then stops the others gracefully).
   *
   * @example
   * ```ts
   * await app.run(); // Ctrl-C stops it cleanly
   * ```
   */
  run(options: RunOptions = {}): Promise<void> {
    return this.#lifecycle.run(options);
  }

  /**
   * The connected transport. Connects on first use and, while the broker cannot be reached, keeps
   * retrying with backoff (one log line per attempt) until it can, or until the app stops (then it
   * rejects with a `ConnectionError` whose `stopped` is true). Declared topics are created on
   * connecting.
   *
   * @example
   * ```ts
   * const ends = await (await app.transport()).endOffsets('orders');
   * ```
   */
  async transport(): Promise<Transport> {
    const transport = await this.#topics.connected();
    return transport;
  }

  /**
   * @internal The transport for producing to `topic`, which it creates if needed: one connection
   * attempt at most, failing with a `ConnectionError` while the broker is down (the next call
   * tries again).
   */
  async transportFor(topic: Topic<unknown, unknown>): Promise<Transport> {
    const transport = await this.#topics.withTopic(topic);
    return transport;
  }

  /** @internal A subscription to a topic outside `app.agent()`: see `AppAgents.subscribeDirect`. */
  subscribeDirect(
    root: DirectTopic,
    pipeline: OperatorFunction<Message<unknown, unknown>, unknown>,
    observer: Partial<Observer<unknown>>,
  ): TeardownLogic {
    return this.#agents.subscribeDirect(root, pipeline, observer);
  }
}

/**
 * Creates an app. Nothing connects until `start()`, `run()` or the first `send()`.
 *
 * @example
 * ```ts
 * const app = createApp({ id: 'orders', broker: process.env.KAFKA_URL ?? 'memory://' });
 * ```
 */
export function createApp(options: AppOptions): App {
  return new App(options);
}
