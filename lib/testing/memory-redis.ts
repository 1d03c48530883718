import type { RedisClientLike, RedisExecResult, RedisPipelineLike } from '../backends/redis/redis-client.js';
import { MemoryRedisReplyError } from './memory-redis-reply-error.js';

/** A value Redis holds: a string, a hash (field → value) or a sorted set (member → score). */
type Stored =
  | { readonly type: 'string'; value: string }
  | { readonly type: 'hash'; readonly fields: Map<string, string> }
  | { readonly type: 'zset'; readonly scores: Map<string, number> };

/**
 * The commands a {@link MemoryRedis} pipeline queues, with ioredis's signatures (an ioredis pipeline has
 * them all), run in one go on `exec()`, which answers one `[error, result]` tuple per command as
 * ioredis does. So `cond ? new Redis(url) : new MemoryRedis()` is a client `toRedis` takes, and its
 * command function sees these methods.
 *
 * @example
 * ```ts
 * const result = await new MemoryRedis().pipeline().set('a', '1').incrby('b', 2).exec();
 * // [[null, 'OK'], [null, 2]]
 * ```
 */
export interface MemoryRedisPipeline extends RedisPipelineLike {
  /** SET key value: replies `'OK'`. */
  set(key: string, value: string | number): this;
  /** DEL key…: replies how many keys existed. */
  del(...keys: string[]): this;
  /** INCRBY key n: replies the new value (a missing key counts from 0). */
  incrby(key: string, increment: number): this;
  /** HSET key field value: replies 1 for a new field, 0 for an updated one. */
  hset(key: string, field: string, value: string | number): this;
  /** ZADD key score member: replies 1 for a new member, 0 for a new score of an existing one. */
  zadd(key: string, score: number, member: string): this;
  /** ZREM key member: replies 1 if the member was there. */
  zrem(key: string, member: string): this;
  /** Runs the queued commands, in order; a command Redis would refuse replies its error. */
  exec(): Promise<RedisExecResult>;
}

/** The keys of a {@link MemoryRedis}, shared by its pipelines. */
class Keyspace {
  readonly #keys = new Map<string, Stored>();

  get size(): number {
    return this.#keys.size;
  }

  /** The value at `key` if it has the given type; undefined if absent; WRONGTYPE otherwise. */
  read<T extends Stored['type']>(
    key: string,
    type: T,
    command: string,
  ): Extract<Stored, { type: T }> | undefined {
    const stored = this.#keys.get(key);
    if (stored && stored.type !== type)
      throw new MemoryRedisReplyError(
        command,
        'WRONGTYPE Operation against a key holding the wrong kind of value',
      );
    return stored as Extract<Stored, { type: T }> | undefined;
  }

  store<S extends Stored>(key: string, value: S): S {
    this.#keys.set(key, value);
    return value;
  }

  /** Whether the key existed. */
  remove(key: string): boolean {
    return this.#keys.delete(key);
  }
}

/** A pipeline of a {@link MemoryRedis}. */
class Pipeline implements MemoryRedisPipeline {
  readonly #commands: (() => unknown)[] = [];

  constructor(private readonly redis: Keyspace) {}

  set(key: string, value: string | number): this {
    return this.#queue(() => (this.redis.store(key, { type: 'string', value: String(value) }), 'OK'));
  }

  del(...keys: string[]): this {
    return this.#queue(() => keys.filter((key) => this.redis.remove(key)).length);
  }

  incrby(key: string, increment: number): this {
    return this.#queue(() => {
      const current = this.redis.read(key, 'string', 'incrby');
      const next = Number(current?.value ?? 0) + increment;
      if (!Number.isSafeInteger(next))
        throw new MemoryRedisReplyError('incrby', 'ERR value is not an integer or out of range');
      this.redis.store(key, { type: 'string', value: String(next) });
      return next;
    });
  }

  hset(key: string, field: string, value: string | number): this {
    return this.#queue(() => {
      const hash =
        this.redis.read(key, 'hash', 'hset') ?? this.redis.store(key, { type: 'hash', fields: new Map() });
      const added = hash.fields.has(field) ? 0 : 1;
      hash.fields.set(field, String(value));
      return added;
    });
  }

  zadd(key: string, score: number, member: string): this {
    return this.#queue(() => {
      const set =
        this.redis.read(key, 'zset', 'zadd') ?? this.redis.store(key, { type: 'zset', scores: new Map() });
      const added = set.scores.has(member) ? 0 : 1;
      set.scores.set(member, score);
      return added;
    });
  }

  zrem(key: string, member: string): this {
    return this.#queue(() => {
      const set = this.redis.read(key, 'zset', 'zrem');
      const removed = set?.scores.delete(member) ? 1 : 0;
      if (set?.scores.size === 0) this.redis.remove(key);
      return removed;
    });
  }

  async exec(): Promise<RedisExecResult> {
    return this.#commands.map((command): readonly [Error | null, unknown] => {
      try {
        return [null, command()];
      } catch (error) {
        return [error as Error, null];
      }
    });
  }

  #queue(command: () => unknown): this {
    this.#commands.push(command);
    return this;
  }
}

/**
 * Redis in this process, for trying an app with nothing but Node and for tests: a `toRedis` sink or a
 * lookup takes it where it takes an ioredis client. Its pipelines speak a few commands with ioredis's
 * signatures (`set`, `del`, `incrby`, `hset`, `zadd`, `zrem`), and it reads back with `get`, `hgetall`,
 * `zrange`, `zrevrange`, `zcard` and `dbsize`. A command on a key of another type fails with Redis's
 * `WRONGTYPE` error. Nothing is persisted, expired or shared between processes.
 *
 * @example
 * ```ts
 * const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : new MemoryRedis();
 * activity$.pipe(toRedis(redis, ({ value: a }, tx) => tx.zadd(`feed:${a.user}`, a.time, a.message)));
 * await redis.zrevrange('feed:ada', 0, 9); // the ten latest
 * ```
 */
export class MemoryRedis implements RedisClientLike<MemoryRedisPipeline> {
  readonly #keys = new Keyspace();

  /** A pipeline to queue commands on; `exec()` runs them. */
  pipeline(): MemoryRedisPipeline {
    return new Pipeline(this.#keys);
  }

  /** GET key: the string, or null. */
  async get(key: string): Promise<string | null> {
    return this.#keys.read(key, 'string', 'get')?.value ?? null;
  }

  /** HGETALL key: the fields and values (empty for a missing key). */
  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.#keys.read(key, 'hash', 'hgetall')?.fields ?? []);
  }

  /** ZRANGE key start stop: members by ascending score (then member), indexes as Redis reads them (-1: the last). */
  async zrange(key: string, start: number, stop: number): Promise<string[]> {
    return slice(this.#sorted(key, 'zrange'), start, stop);
  }

  /** ZREVRANGE key start stop: members by descending score. */
  async zrevrange(key: string, start: number, stop: number): Promise<string[]> {
    return slice(this.#sorted(key, 'zrevrange').reverse(), start, stop);
  }

  /** ZCARD key: the number of members. */
  async zcard(key: string): Promise<number> {
    return this.#keys.read(key, 'zset', 'zcard')?.scores.size ?? 0;
  }

  /** DBSIZE: the number of keys. */
  async dbsize(): Promise<number> {
    return this.#keys.size;
  }

  /** Nothing to close: there for code that disconnects its client on stop. */
  disconnect(): void {}

  #sorted(key: string, command: string): string[] {
    const scores = this.#keys.read(key, 'zset', command)?.scores ?? new Map<string, number>();
    return [...scores]
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .map(([member]) => member);
  }
}

/** Elements `start` to `stop` inclusive, negative indexes counting from the end (as Redis ranges). */
function slice(items: readonly string[], start: number, stop: number): string[] {
  const from = start < 0 ? Math.max(items.length + start, 0) : start;
  const to = stop < 0 ? items.length + stop : Math.min(stop, items.length - 1);
  return from > to ? [] : items.slice(from, to + 1);
}
