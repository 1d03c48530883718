import { type Observable, Subject, asyncScheduler } from 'rxjs';
import { eachLineage } from './lineage.js';
import { LINEAGE, type Message } from './message.js';

/**
 * Whether a sink's writes for one agent currently succeed, as the worker's live page, status line and
 * `/metrics` show it. A sink is `failing` from its first failed attempt until a write succeeds again.
 * Kept per app, and within it per agent and sink name: two agents whose sinks share a name (two Redis
 * servers, both `redis`) each have their own health.
 *
 * @example
 * ```ts
 * for (const sink of app.sinkHealth()) {
 *   if (sink.state === 'failing') console.warn(`${sink.agent}/${sink.name} failing since ${new Date(sink.since)}`);
 * }
 * ```
 */
export interface SinkHealth {
  /** The agent whose messages the sink writes. */
  readonly agent: string;
  /** The sink's name, e.g. `redis`, `http`, `topic:reports`. */
  readonly name: string;
  readonly state: 'ok' | 'failing';
  /** When the current state began, in ms since the epoch. */
  readonly since: number;
  /** The last failed attempt's error, as one line (`ECONNREFUSED 127.0.0.1:6379`). */
  readonly lastError?: string;
  /** When a write last succeeded (ms since the epoch), if ever. */
  readonly lastSuccessAt?: number;
  /** Attempts that failed since the sink was last ok. */
  readonly failedAttempts: number;
}

/**
 * The outcome of one write of a sink, for metrics.
 *
 * @example
 * ```ts
 * app.sinkEvents$.pipe(filter((event: SinkEvent) => event.error !== undefined)).subscribe((event) =>
 *   console.warn(`${event.agent}/${event.sink}: ${event.messages} message(s) failed after ${event.attempts} attempts`),
 * );
 * ```
 */
export interface SinkEvent {
  /** The agent whose messages the write carried. */
  readonly agent: string;
  /** The sink's name, e.g. `redis`, `http`, `topic:reports`. */
  readonly sink: string;
  /** Messages the write carried. */
  readonly messages: number;
  readonly durationMs: number;
  /** Attempts made (1 when the first succeeded). */
  readonly attempts: number;
  /** Set when the write failed for good. */
  readonly error?: unknown;
}

/**
 * The sink health and sink events of one app: each agent's sinks report into it (through
 * {@link AgentSinkHealth}, which the agent hands its sinks with its messages' lineage), and the app's
 * outage decisions, status line, live page and `/metrics` read it. Nothing of it is shared between two
 * apps of one process. Read it with `app.sinkHealth()`, `app.sinkHealthChanges$` and `app.sinkEvents$`.
 *
 * @example
 * ```ts
 * const health = new SinkHealthRegistry();
 * health.forAgent('save').wrote({ sink: 'redis', messages: 1, durationMs: 3, attempts: 1 });
 * health.list(); // [{ agent: 'save', name: 'redis', state: 'ok', … }]
 * ```
 */
export class SinkHealthRegistry {
  readonly #agents = new Map<string, AgentSinkHealth>();
  readonly #changes = new Subject<SinkHealth>();
  readonly #events = new Subject<SinkEvent>();

  /**
   * `now`: the clock of `since` and `lastSuccessAt`. By default the async scheduler's, the clock the
   * failure handler and the outage hold compare these stamps with: the wall clock, or virtual time under
   * `TestScheduler.run`.
   */
  constructor(private readonly now: () => number = () => asyncScheduler.now()) {}

  /**
   * The health of every sink that wrote, or tried to, for an agent of this app.
   *
   * @example
   * ```ts
   * const failing = registry.list().filter((sink) => sink.state === 'failing');
   * ```
   */
  list(): readonly SinkHealth[] {
    return [...this.#agents.values()].flatMap((agent) => agent.list());
  }

  /**
   * Each change of a sink's state (ok → failing, failing → ok), as it happens.
   *
   * @example
   * ```ts
   * registry.changes$.subscribe((sink) => console.log(`${sink.agent}/${sink.name} is ${sink.state}`));
   * ```
   */
  get changes$(): Observable<SinkHealth> {
    return this.#changes.asObservable();
  }

  /**
   * Every sink write of this app's agents, as it finishes.
   *
   * @example
   * ```ts
   * registry.events$.subscribe((event) => histogram.observe({ sink: event.sink }, event.durationMs / 1000));
   * ```
   */
  get events$(): Observable<SinkEvent> {
    return this.#events.asObservable();
  }

  /**
   * The part of this registry that one agent's sinks report into and its outage decisions read
   * (created on first use, the same object afterwards).
   *
   * @example
   * ```ts
   * const health = registry.forAgent('save');
   * health.failed('redis', new Error('ECONNREFUSED'));
   * ```
   */
  forAgent(agent: string): AgentSinkHealth {
    let health = this.#agents.get(agent);
    if (!health) {
      health = new AgentSinkHealth(agent, this.now, this.#changes, this.#events);
      this.#agents.set(agent, health);
    }
    return health;
  }
}

/**
 * One agent's sinks in its app's {@link SinkHealthRegistry}, by sink name: what a sink writing that
 * agent's messages reports each attempt to, and what the agent's failure handler reads to tell a sink
 * that is down (hold the records) from bad input (dead-letter them). Reaches a sink through the lineage
 * owner of the messages it writes (`LineageOwner.sinkHealth`).
 *
 * @example
 * ```ts
 * const health = new SinkHealthRegistry().forAgent('save');
 * health.failed('redis', new Error('ECONNREFUSED'), 1000);
 * health.succeededSince('redis', 1000); // false: the sink is down since
 * ```
 */
export class AgentSinkHealth {
  readonly #sinks = new Map<string, SinkHealth>();

  /** @internal Use {@link SinkHealthRegistry.forAgent}. */
  constructor(
    readonly agent: string,
    private readonly now: () => number,
    private readonly changes: Subject<SinkHealth>,
    private readonly events: Subject<SinkEvent>,
  ) {}

  /** This agent's sinks. */
  list(): readonly SinkHealth[] {
    return [...this.#sinks.values()];
  }

  /** Sink `sink`'s health, if it wrote or tried to. */
  get(sink: string): SinkHealth | undefined {
    return this.#sinks.get(sink);
  }

  /** An attempt of sink `sink` failed. */
  failed(sink: string, error: unknown, now: number = this.now()): void {
    const previous = this.#sinks.get(sink);
    const failing = previous?.state === 'failing';
    const next: SinkHealth = {
      agent: this.agent,
      name: sink,
      state: 'failing',
      since: failing ? previous.since : now,
      lastError: errorLine(error),
      failedAttempts: (failing ? previous.failedAttempts : 0) + 1,
      ...(previous?.lastSuccessAt !== undefined ? { lastSuccessAt: previous.lastSuccessAt } : {}),
    };
    this.#sinks.set(sink, next);
    if (!failing && this.changes.observed) this.changes.next(next);
  }

  /** A write of sink `sink` succeeded. */
  succeeded(sink: string, now: number = this.now()): void {
    const previous = this.#sinks.get(sink);
    const recovered = previous?.state === 'failing';
    const next: SinkHealth = {
      agent: this.agent,
      name: sink,
      state: 'ok',
      since: previous === undefined || recovered ? now : previous.since,
      lastSuccessAt: now,
      failedAttempts: 0,
    };
    this.#sinks.set(sink, next);
    if (recovered && this.changes.observed) this.changes.next(next);
  }

  /** A write finished (its retries included): published as a {@link SinkEvent}; a success counts as one. */
  wrote(event: Omit<SinkEvent, 'agent'>): void {
    if (event.error === undefined) this.succeeded(event.sink);
    if (this.events.observed) this.events.next({ agent: this.agent, ...event });
  }

  /** Whether sink `sink` wrote successfully at or after `time` (ms since the epoch). */
  succeededSince(sink: string, time: number): boolean {
    const health = this.#sinks.get(sink);
    return health?.lastSuccessAt !== undefined && health.lastSuccessAt >= time;
  }
}

/**
 * The sink health of the agents whose messages these are (usually one), through their lineage owners.
 * Empty for messages with no agent (built by hand, under `testPipeline`): their sink reports nowhere.
 * @internal
 */
export function sinkHealthOf(messages: readonly Message<unknown, unknown>[]): readonly AgentSinkHealth[] {
  const found: AgentSinkHealth[] = [];
  for (const message of messages) {
    eachLineage(message[LINEAGE], (lineage) => {
      const health = lineage.owner.sinkHealth;
      if (health !== undefined && !found.includes(health)) found.push(health);
    });
  }
  return found;
}

/** One line describing an error, without its stack. @internal */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message || error.name;
    return typeof code === 'string' && !text.includes(code) ? `${code} ${text}` : text;
  }
  return String(error);
}
