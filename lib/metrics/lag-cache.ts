import type { Transport } from '../transports/transport.js';
import { type PartitionLag, commitLag } from './commit-lag.js';

/**
 * Options of {@link LagCache}.
 *
 * @example
 * ```ts
 * const cache = new LagCache(() => app.transport(), { ttlMs: 5000, now: () => scheduler.now() });
 * ```
 */
export interface LagCacheOptions {
  /** How long an answer is reused, in ms (default 1000). */
  readonly ttlMs?: number;
  /** Clock in ms (default `Date.now`), for tests. */
  readonly now?: () => number;
}

interface Entry {
  readonly at: number;
  readonly lags: Promise<PartitionLag[]>;
}

/**
 * Commit lag per group and topic, asked of the broker at most once per `ttlMs`: scrapes and status lines
 * that come often (or at once) share one request instead of hammering the broker. A failed request is
 * not cached.
 *
 * @example
 * ```ts
 * const cache = new LagCache(() => app.transport(), { ttlMs: 2000 });
 * const lags = await cache.get(agent.group, agent.topic.name);
 * ```
 */
export class LagCache {
  readonly #transport: () => Promise<Transport>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(transport: () => Promise<Transport>, options: LagCacheOptions = {}) {
    this.#transport = transport;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The lag of `group` on every partition of `topic`, from the cache when fresh enough. */
  get(group: string, topic: string): Promise<PartitionLag[]> {
    const key = `${group}\u0000${topic}`;
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (cached && now - cached.at < this.#ttlMs) return cached.lags;
    const lags = this.#transport().then((transport) => commitLag(transport, group, topic));
    this.#entries.set(key, { at: now, lags });
    lags.catch(() => {
      if (this.#entries.get(key)?.lags === lags) this.#entries.delete(key);
    });
    return lags;
  }
}
