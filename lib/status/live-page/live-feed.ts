import { errorSummary } from '../../core/redact.js';
import {
  Observable,
  type SchedulerAction,
  type SchedulerLike,
  Subject,
  type Subscription,
  asyncScheduler,
} from 'rxjs';
import type { AgentStats } from '../../agent/agent.js';
import type { PartitionLag } from '../../metrics/commit-lag.js';
import { LagCache } from '../../metrics/lag-cache.js';
import type { MonitoredApp } from '../../metrics/monitored-app.js';
import type { SinkHealth } from '../../core/sink-health.js';
import {
  type HistoryPoint,
  type LiveSample,
  type LiveSnapshot,
  historyPoint,
  liveSnapshot,
} from './live-snapshot.js';

/**
 * Options of {@link LiveFeed}.
 *
 * @example
 * ```ts
 * const feed = new LiveFeed(app, { intervalMs: 2000, historyMs: 10 * 60_000 });
 * ```
 */
export interface LiveFeedOptions {
  /** Time between two samples, in ms (default 1000). */
  readonly intervalMs?: number;
  /** How far back the sparklines reach, in ms (default 5 minutes). */
  readonly historyMs?: number;
  /** Stall timeout of agents whose stats do not carry their own, in ms (default 30 000). */
  readonly stallTimeoutMs?: number;
  /** Scheduler of the samples and their clock (default `asyncScheduler`; a virtual one in tests). */
  readonly scheduler?: SchedulerLike;
  /** Commit lag of a group on a topic (default: asked of the app's transport, at most once per interval). */
  readonly lag?: (group: string, topic: string) => Promise<readonly PartitionLag[]>;
  /** The sinks' health (default: the app's `sinkHealth()`, every sink of its agents). */
  readonly sinks?: () => readonly SinkHealth[];
}

/** What the feed reads of an app: its agents, transport, id and failure. @internal */
export type LiveApp = MonitoredApp & { readonly id: string; readonly failure?: Error | undefined };

/**
 * Samples an app every `intervalMs` (agents' stats, commit lag, sinks' health, tables' stats), keeps
 * the last `historyMs` of it and publishes a {@link LiveSnapshot} after each sample: what the worker's
 * live page shows. Samples run from construction until {@link LiveFeed.close}, so the page shows the last minutes
 * as soon as it opens.
 *
 * @example
 * ```ts
 * const feed = new LiveFeed(app);
 * const subscription = feed.snapshots.subscribe((snapshot) => send(JSON.stringify(snapshot)));
 * // later
 * subscription.unsubscribe();
 * feed.close();
 * ```
 */
export class LiveFeed {
  readonly #app: LiveApp;
  readonly #intervalMs: number;
  readonly #maxPoints: number;
  readonly #stallTimeoutMs: number | undefined;
  readonly #scheduler: SchedulerLike;
  readonly #lag: (group: string, topic: string) => Promise<readonly PartitionLag[]>;
  readonly #sinks: () => readonly SinkHealth[];
  readonly #updates = new Subject<LiveSnapshot>();
  readonly #timer: Subscription;
  #history: HistoryPoint[] = [];
  #latest: LiveSnapshot;
  #sampling = false;
  #closed = false;

  constructor(app: LiveApp, options: LiveFeedOptions = {}) {
    this.#app = app;
    this.#intervalMs = Math.max(10, options.intervalMs ?? 1000);
    this.#maxPoints = Math.max(2, Math.ceil((options.historyMs ?? 300_000) / this.#intervalMs) + 1);
    this.#stallTimeoutMs = options.stallTimeoutMs;
    this.#scheduler = options.scheduler ?? asyncScheduler;
    const cache = new LagCache(() => app.transport(), {
      ttlMs: this.#intervalMs / 2,
      now: () => this.#scheduler.now(),
    });
    this.#lag = options.lag ?? ((group, topic) => cache.get(group, topic));
    this.#sinks = options.sinks ?? (() => app.sinkHealth?.() ?? []);
    this.#latest = this.#build({ ...this.#read(), lags: [] }, []);
    const intervalMs = this.#intervalMs;
    const sample = (): void => void this.sample();
    this.#timer = this.#scheduler.schedule(function (this: SchedulerAction<undefined>) {
      sample();
      this.schedule(undefined, intervalMs);
    }, 0);
  }

  /** The latest snapshot (before the first sample: the stats without lag or history). */
  get latest(): LiveSnapshot {
    return this.#latest;
  }

  /**
   * The latest snapshot on subscription, then each new one; completes when the feed closes.
   *
   * @example
   * ```ts
   * feed.snapshots.subscribe((snapshot) => console.log(snapshot.agents.length));
   * ```
   */
  get snapshots(): Observable<LiveSnapshot> {
    return new Observable<LiveSnapshot>((subscriber) => {
      if (this.#closed) {
        subscriber.complete();
        return undefined;
      }
      subscriber.next(this.#latest);
      return this.#updates.subscribe(subscriber);
    });
  }

  /**
   * Samples now (the timer calls it every `intervalMs`) and resolves with the new snapshot; while a
   * sample waits for the broker, another call resolves with the latest one instead of piling up.
   */
  async sample(): Promise<LiveSnapshot> {
    if (this.#sampling || this.#closed) return this.#latest;
    this.#sampling = true;
    try {
      const read = this.#read();
      const lags = await Promise.all(read.agents.map((stats) => this.#lagOf(stats)));
      if (this.#closed) return this.#latest;
      const sample: LiveSample = { ...read, lags };
      this.#history.push(historyPoint(sample));
      if (this.#history.length > this.#maxPoints)
        this.#history.splice(0, this.#history.length - this.#maxPoints);
      this.#latest = this.#build(sample, this.#history);
      this.#updates.next(this.#latest);
      return this.#latest;
    } finally {
      this.#sampling = false;
    }
  }

  /** Stops sampling and completes {@link LiveFeed.snapshots}. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer.unsubscribe();
    this.#updates.complete();
  }

  #read(): Omit<LiveSample, 'lags'> {
    const failure = this.#app.failure === undefined ? undefined : errorSummary(this.#app.failure);
    return {
      app: this.#app.id,
      at: this.#scheduler.now(),
      agents: this.#app.agents.map((agent) => agent.stats()),
      sinks: this.#sinks(),
      tables: [...(this.#app.tables?.values() ?? [])].map((table) => table.stats()),
      ...(failure !== undefined ? { failure } : {}),
    };
  }

  async #lagOf(stats: AgentStats): Promise<readonly PartitionLag[] | undefined> {
    if (stats.state !== 'running') return undefined;
    try {
      return await this.#lag(stats.group, stats.topic);
    } catch {
      return undefined;
    }
  }

  #build(sample: LiveSample, history: readonly HistoryPoint[]): LiveSnapshot {
    return liveSnapshot(
      sample,
      history,
      this.#stallTimeoutMs !== undefined ? { stallTimeoutMs: this.#stallTimeoutMs } : {},
    );
  }
}
