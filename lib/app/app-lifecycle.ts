import { type Observable, ReplaySubject, merge } from 'rxjs';
import type { AgentFailedError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ConnectionError } from './connection.js';
import type { AppOptions, RunOptions } from './app-options.js';
import { type ShutdownPlan, shutdown } from './shutdown.js';

/** What an app's lifecycle starts and stops. @internal */
export interface AppLifecycleHost {
  readonly logger: Logger;
  /** Connects: retried while the broker is unreachable; rejects for a bad URL or credentials. */
  connect(): Promise<unknown>;
  /** Restores every global table. */
  startGlobal(): Promise<void>;
  /** Starts every agent declared so far. */
  startAgents(): Promise<unknown>;
  /** What a stop stops: the agents (those still leaving included) and the broker connection. */
  stoppable(): Pick<ShutdownPlan, 'agents' | 'connection'>;
  /** Its `shutdownTimeoutMs` (read when a stop begins) and `onAgentFailure` (read when an agent fails). */
  readonly options: AppOptions;
}

/**
 * When an app runs: `start` (connect, restore the global tables, then start the agents), `stop` (once;
 * the stop signal, then {@link shutdown} and the `onStop` hooks), `run` (both, with the signals), and
 * what a failed agent means. It owns the app's started and stopping state and the failure that stopped
 * it. `App` is its facade.
 *
 * @example
 * ```ts
 * const lifecycle = new AppLifecycle(host);
 * lifecycle.onStop(() => redis.disconnect());
 * await lifecycle.run(); // until SIGTERM or lifecycle.stop()
 * ```
 * @internal
 */
export class AppLifecycle {
  #started = false;
  #stopping: Promise<void> | undefined;
  /** Emits once, when `stop()` begins; replays to late subscribers. */
  readonly #stopSignal = new ReplaySubject<void>(1);
  #failure: Error | undefined;
  readonly #onStop: (() => unknown)[] = [];
  readonly #stopped: Promise<void>;
  #markStopped!: () => void;

  constructor(private readonly host: AppLifecycleHost) {
    this.#stopped = new Promise((resolve) => (this.#markStopped = resolve));
  }

  /** Whether `start()` was called (what is declared later starts at once). */
  get started(): boolean {
    return this.#started;
  }

  /** Whether `stop()` began. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** The error that made the app stop, if an agent failed. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Emits once, when `stop()` begins, then completes; replays to late subscribers. */
  get stopping$(): Observable<void> {
    return this.#stopSignal.asObservable();
  }

  /** See `App.start`. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      await this.host.connect();
    } catch (error) {
      if (error instanceof ConnectionError && error.stopped) return; // stopped while connecting
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    }
    // Global tables first: an agent reads them from its first record on (Kafka Streams' bootstrap).
    try {
      await this.host.startGlobal();
    } catch (error) {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    }
    if (this.#stopping) return;
    await this.host.startAgents();
  }

  /** See `App.stop`. */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = this.#stop();
    // After #stopping is set: a stopping$ subscriber that calls stop() gets the same promise.
    this.#stopSignal.next();
    this.#stopSignal.complete();
    return this.#stopping;
  }

  /** See `App.onStop`. */
  onStop(hook: () => unknown): void {
    this.#onStop.push(hook);
  }

  /** See `App.run`. */
  async run(options: RunOptions = {}): Promise<void> {
    const signals: NodeJS.Signals[] = options.handleSignals === false ? [] : ['SIGINT', 'SIGTERM'];
    let received = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (++received > 1) process.exit(130);
      this.host.logger.info({ signal }, 'stopping (again to exit at once)');
      void this.stop();
    };
    for (const signal of signals) process.on(signal, onSignal);
    try {
      await this.start();
      await this.#stopped;
      await this.#stopping;
    } finally {
      for (const signal of signals) process.off(signal, onSignal);
    }
    if (this.#failure) throw this.#failure;
  }

  /** The app's stop signal, or whichever of it and `stop$` comes first. */
  stopWith(stop$: Observable<unknown> | undefined): Observable<unknown> {
    return stop$ ? merge(this.#stopSignal, stop$) : this.#stopSignal;
  }

  /** An agent failed for good: under `onAgentFailure: 'stop'` (the default) the app stops, failed. */
  agentFailed(agent: string, error: AgentFailedError): void {
    if ((this.host.options.onAgentFailure ?? 'stop') === 'continue') return;
    this.#failure ??= error;
    this.host.logger.error({ agent }, 'stopping the app: an agent failed (onAgentFailure: stop)');
    void this.stop();
  }

  async #stop(): Promise<void> {
    try {
      await shutdown({
        ...this.host.stoppable(),
        hooks: [...this.#onStop].reverse(),
        timeoutMs: this.host.options.shutdownTimeoutMs ?? 30_000,
        logger: this.host.logger,
      });
    } finally {
      this.#markStopped();
    }
  }
}
