/**
 * Kafka's default partitioning for keyed records: `murmur2(key) & 0x7fffffff` modulo the partition count,
 * bit for bit as the Java client (and kafkajs's default partitioner) computes it, so the in-memory broker
 * and Kafka put a key in the same partition.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's 32-bit murmur2 hash of a byte array (signed, as Java returns it).
 *
 * @example
 * ```ts
 * murmur2(Buffer.from('21')); // -973932308, as org.apache.kafka.common.utils.Utils.murmur2
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's Java client picks for a keyed record.
 *
 * @example
 * ```ts
 * partitionForKey(Buffer.from('user-1'), 12);
 * ```
 */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
