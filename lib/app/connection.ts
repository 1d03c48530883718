import { resolveTransport } from '../transports/resolve-transport.js';
import type { TopicSpec, Transport } from '../transports/transport.js';
import { type Backoff, backoffDelay } from '../core/error-policy.js';
import { RivuletError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * The broker could not be reached (or the declared topics not created) on a connection attempt, or the
 * app stopped before it could be. Names the brokers as the transport describes them (never credentials).
 * Retriable: the next attempt may succeed.
 *
 * @example
 * ```ts
 * try {
 *   await orders.send(order);
 * } catch (error) {
 *   if (error instanceof ConnectionError) console.warn(`${error.brokers} is down: ${error.message}`);
 * }
 * ```
 */
export class ConnectionError extends RivuletError {
  /** The transport's description of the brokers, e.g. `kafka://k1:9093 (ssl, sasl plain)`. */
  readonly brokers: string;
  /** True when the connection was given up because the app stopped, not because of `cause`. */
  readonly stopped: boolean;

  constructor(brokers: string, cause: unknown, options: { readonly stopped?: boolean } = {}) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      options.stopped
        ? `Stopped before ${brokers} could be reached: ${reason}`
        : `Cannot reach ${brokers}: ${reason}`,
      { cause },
    );
    this.brokers = brokers;
    this.stopped = options.stopped ?? false;
  }
}

/**
 * Options of {@link Connection}.
 *
 * @example
 * ```ts
 * const options: ConnectionOptions = { broker: 'kafka://127.0.0.1:9092', clientId: 'orders', logger };
 * ```
 */
export interface ConnectionOptions {
  /** Broker URL (default `memory://`), resolved to a transport on the first attempt. */
  readonly broker?: string;
  /** A transport to use instead of `broker`. */
  readonly transport?: Transport;
  /** Client id the transport presents to the brokers. */
  readonly clientId: string;
  readonly logger: Logger;
  /** The topics to create when connecting; read on every attempt, so later declarations count. */
  readonly topics?: () => readonly TopicSpec[];
  /** Delay between attempts (default 1 s, doubling up to 30 s, with jitter). */
  readonly backoff?: Backoff;
  /** Source of jitter (tests). */
  readonly random?: () => number;
}

const DEFAULT_BACKOFF: Backoff = { initialDelayMs: 1000, maxDelayMs: 30_000 };

/**
 * An app's connection to its broker: resolves the transport from the URL, connects it and creates the
 * declared topics. A failed attempt is never kept: {@link attempt} tries once (sharing an attempt
 * already under way) and fails with {@link ConnectionError}, the next call tries again;
 * {@link connected} retries with backoff, logging each failure once, until it succeeds or the
 * connection is aborted. Once connected, both resolve at once.
 *
 * @example
 * ```ts
 * const connection = new Connection({ broker: 'kafka://127.0.0.1:9092', clientId: 'orders', logger });
 * const transport = await connection.connected(); // waits for the broker, retrying
 * await connection.abort(); // when stopping
 * await connection.close();
 * ```
 */
export class Connection {
  readonly #options: ConnectionOptions;
  readonly #backoff: Backoff;
  readonly #ensured = new Map<string, Promise<void>>();
  readonly #aborted = new AbortController();
  #resolved: Promise<Transport> | undefined;
  #connected: Transport | undefined;
  #attempt: Promise<Transport> | undefined;
  #retrying: Promise<Transport> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** The connected transport, once connected. */
  get transport(): Transport | undefined {
    return this.#connected;
  }

  /**
   * The connected transport, after one attempt at most: shares an attempt under way, else makes one.
   * Rejects with {@link ConnectionError} when it fails (nothing is cached: the next call tries again),
   * or with a `ConfigurationError` for a broker URL that cannot work.
   */
  attempt(): Promise<Transport> {
    if (this.#connected) return Promise.resolve(this.#connected);
    if (this.#aborted.signal.aborted) return this.#stoppedError(undefined);
    if (!this.#attempt) {
      const attempt = this.#tryOnce().finally(() => {
        if (this.#attempt === attempt) this.#attempt = undefined;
      });
      this.#attempt = attempt;
    }
    return this.#attempt;
  }

  /**
   * The connected transport: retries with backoff until connected. Rejects with a
   * {@link ConnectionError} whose `stopped` is true once {@link abort} was called, or at once with a
   * `ConfigurationError` that no retry can fix.
   */
  connected(): Promise<Transport> {
    if (this.#connected) return Promise.resolve(this.#connected);
    if (!this.#retrying) {
      const retrying = this.#retry().finally(() => {
        if (this.#retrying === retrying) this.#retrying = undefined;
      });
      this.#retrying = retrying;
    }
    return this.#retrying;
  }

  /**
   * The connected transport (one attempt, as {@link attempt}) with `topic` created on it. A topic
   * whose creation failed is tried again on the next call.
   */
  async withTopic(topic: TopicSpec): Promise<Transport> {
    const transport = await this.attempt();
    let ensured = this.#ensured.get(topic.name);
    if (!ensured) {
      ensured = transport.ensureTopics([topic]).catch((error: unknown) => {
        this.#ensured.delete(topic.name);
        throw this.#wrap(transport, error);
      });
      this.#ensured.set(topic.name, ensured);
    }
    await ensured;
    return transport;
  }

  /** Stops retrying: pending and later {@link connected} calls reject; a connected transport stays open. */
  abort(): void {
    this.#aborted.abort();
  }

  /** Aborts, waits for an attempt under way, and closes the transport if it connected. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.abort();
      await this.#attempt?.catch(() => undefined);
      const transport = this.#connected;
      this.#connected = undefined;
      await transport?.close();
    })();
    return this.#closing;
  }

  async #tryOnce(): Promise<Transport> {
    const transport = await this.#transport();
    try {
      await transport.connect();
      const topics = this.#options.topics?.() ?? [];
      await transport.ensureTopics(topics);
      for (const topic of topics) this.#ensured.set(topic.name, Promise.resolve());
    } catch (error) {
      throw this.#wrap(transport, error);
    }
    this.#connected = transport;
    this.#options.logger.debug({ transport: transport.description }, 'connected');
    return transport;
  }

  async #retry(): Promise<Transport> {
    const signal = this.#aborted.signal;
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return this.#stoppedError(last);
      try {
        const transport = await untilAborted(this.attempt(), signal);
        if (!transport) return this.#stoppedError(last);
        if (attempt > 1)
          this.#options.logger.info(
            { transport: transport.description, attempt },
            `reached ${transport.description} (attempt ${attempt})`,
          );
        return transport;
      } catch (error) {
        if (!(error instanceof ConnectionError) || error.stopped) throw error;
        last = error.cause;
        if (signal.aborted) return this.#stoppedError(last);
        const delay = backoffDelay(this.#backoff, attempt, this.#options.random);
        const reason = last instanceof Error ? last.message : String(last);
        this.#options.logger.warn(
          { transport: error.brokers, attempt, retryInMs: Math.round(delay), reason },
          `cannot reach ${error.brokers} (attempt ${attempt}: ${reason}), retrying in ${formatDelay(delay)}`,
        );
        await abortableDelay(delay, signal);
      }
    }
  }

  /** The transport, resolved from the URL on first use; a URL that cannot work throws every time. */
  #transport(): Promise<Transport> {
    const { transport, broker, clientId, logger } = this.#options;
    if (transport) return Promise.resolve(transport);
    this.#resolved ??= resolveTransport(broker ?? 'memory://', clientId, logger);
    return this.#resolved;
  }

  #wrap(transport: Transport, error: unknown): Error {
    // Configuration mistakes (a bad URL, a topic setting the broker refuses) do not heal by retrying.
    if (error instanceof RivuletError && !error.retriable) return error;
    if (error instanceof ConnectionError) return error;
    return new ConnectionError(transport.description, error);
  }

  async #stoppedError(cause: unknown): Promise<never> {
    const transport = await this.#transport();
    throw new ConnectionError(transport.description, cause ?? 'the app is stopping', { stopped: true });
  }
}

/** `4 s`, `1.5 s`, `200 ms`. */
function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  return `${seconds < 10 ? Math.round(seconds * 10) / 10 : Math.round(seconds)} s`;
}

/** `work`'s result, or undefined at once when `signal` aborts first (`work` goes on unobserved). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
