import type { Codec } from '../codecs/codec.js';
import { isJsonCodec, isJsonPrimitive } from '../codecs/codec-identity.js';
import { partitionForKey } from '../transports/partitioner.js';

/** A key's encodings, kept for keys seen often (encoding and hashing them per record is not free). @internal */
export interface EncodedKey {
  readonly bytes: Buffer;
  /** The bytes as a map key (latin1). */
  readonly id: string;
  /** Its partition for `count` partitions (-1 until asked). */
  partition: number;
  count: number;
}

/** Most string keys whose encodings a table keeps (all are dropped when it is full). */
const KEY_CACHE_SIZE = 10_000;

/**
 * A table's keys and values as bytes: encodings of string keys kept (a key codec is deterministic, as
 * partitioning already requires), partitions of keys kept per partition count, and decoding that must
 * be synchronous (a table answers `get` at once).
 * @internal
 */
export class TableCodecs<K, V> {
  readonly #keyCache = new Map<unknown, EncodedKey>();
  readonly #json: boolean;

  constructor(
    private readonly table: string,
    readonly keyCodec: Codec<K>,
    readonly valueCodec: Codec<V>,
  ) {
    this.#json = isJsonCodec(valueCodec as Codec<unknown>);
  }

  /**
   * Whether `value` may be encoded only once its changelog record is produced (the record cache writes
   * a key's last change of a flush, so most changes never are): the value codec is `json()`, and the
   * value a number, string, boolean or null, or one `plain` vouches for (JSON primitives in arrays and
   * objects made for this change, never changed after). Encoding it then cannot fail, nor give other
   * bytes than now; any other value is encoded at once, where a codec's error fails its record.
   */
  encodesLater(value: V, plain: ((value: V) => boolean) | undefined): boolean {
    return this.#json && (isJsonPrimitive(value) || (plain !== undefined && plain(value)));
  }

  /** The key's bytes and map key. */
  encodeKey(key: K): EncodedKey {
    const cached = typeof key === 'string';
    if (cached) {
      const hit = this.#keyCache.get(key);
      if (hit) return hit;
    }
    const bytes = this.keyCodec.encode(key);
    const encoded: EncodedKey = { bytes, id: bytes.toString('latin1'), partition: -1, count: 0 };
    if (cached) {
      if (this.#keyCache.size >= KEY_CACHE_SIZE) this.#keyCache.clear();
      this.#keyCache.set(key, encoded);
    }
    return encoded;
  }

  /** The key's partition among `count`. */
  partitionOf(key: EncodedKey, count: number): number {
    if (key.count !== count) {
      key.partition = partitionForKey(key.bytes, count);
      key.count = count;
    }
    return key.partition;
  }

  decodeValue(bytes: Buffer): V {
    return this.#decodeNow(this.valueCodec, bytes, 'value');
  }

  decodeKey(bytes: Buffer): K {
    return this.#decodeNow(this.keyCodec, bytes, 'key');
  }

  /** Decodes with `codec`; a table reads synchronously, so a codec that answers a Promise is a TypeError. */
  #decodeNow<T>(codec: Codec<T>, bytes: Buffer, what: 'key' | 'value'): T {
    const decoded = codec.decode(bytes);
    if (decoded instanceof Promise)
      throw new TypeError(`Table ${this.table}: its ${what} codec ${codec.name} must decode synchronously`);
    return decoded;
  }
}
