import type { Logger, MemoryBroker, Transport, TopicPartitionOffset } from '../../lib/index.js';
import { delegateTransport } from './delegate.js';

/** Records what a test's sink has handled (written, filtered out on purpose or dead-lettered). */
export class Handled {
  readonly #done = new Map<string, Set<number>>();

  add(topic: string, partition: number, offset: number): void {
    const key = `${topic}/${partition}`;
    let set = this.#done.get(key);
    if (!set) this.#done.set(key, (set = new Set()));
    set.add(offset);
  }

  /** How many records were recorded. */
  size(): number {
    let n = 0;
    for (const set of this.#done.values()) n += set.size;
    return n;
  }

  has(topic: string, partition: number, offset: number): boolean {
    return this.#done.get(`${topic}/${partition}`)?.has(offset) ?? false;
  }
}

/**
 * Wraps a transport so that every commit is checked at the moment it is made: each offset below it
 * must have been handled. Violations are collected (a commit that passes an unsettled offset).
 */
export function auditCommits(
  inner: Transport,
  handled: Pick<Handled, 'has'>,
): { transport: Transport; violations: string[]; commits: TopicPartitionOffset[] } {
  const violations: string[] = [];
  const commits: TopicPartitionOffset[] = [];
  const lowest = new Map<string, number>();
  const transport = delegateTransport(inner, { consume: (options, handlers) => consume(options, handlers) });
  const consume: Transport['consume'] = async (options, handlers) => {
    const consumer = await inner.consume(options, handlers);
    return {
      ...consumer,
      commit: async (offsets) => {
        for (const { topic, partition, offset } of offsets) {
          const key = `${topic}/${partition}`;
          for (let o = lowest.get(key) ?? 0; o < offset; o++) {
            if (!handled.has(topic, partition, o))
              violations.push(`${key}: committed ${offset} before ${o} was handled`);
          }
          commits.push({ topic, partition, offset });
        }
        await consumer.commit(offsets);
        for (const { topic, partition, offset } of offsets) {
          const key = `${topic}/${partition}`;
          lowest.set(key, Math.max(lowest.get(key) ?? 0, offset));
        }
      },
    };
  };
  return { transport, violations, commits };
}

/** A logger that keeps what was logged, for assertions. */
export function capturingLogger(): Logger & { lines: { level: string; fields: object; message?: string }[] } {
  const lines: { level: string; fields: object; message?: string }[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * What counts as handled at a commit: written (the sink's write succeeded, recorded in `written`) or
 * dead-lettered (read from the broker's dead-letter topic at that moment, by its source headers).
 */
export function writtenOrDeadLettered(
  written: Handled,
  broker: MemoryBroker,
  deadLetterTopic: string,
): Pick<Handled, 'has'> {
  return {
    has: (topic, partition, offset) =>
      written.has(topic, partition, offset) ||
      deadLettered(broker, deadLetterTopic).has(topic, partition, offset),
  };
}

/** The source positions of every record in a dead-letter topic of the memory broker. */
export function deadLettered(broker: MemoryBroker, deadLetterTopic: string): Handled {
  const found = new Handled();
  for (const { partition, offset } of broker.endOffsets(deadLetterTopic)) {
    for (const { headers } of broker.read(deadLetterTopic, partition, 0, offset)) {
      found.add(
        headers['rivulet-source-topic'] ?? '',
        Number(headers['rivulet-source-partition']),
        Number(headers['rivulet-source-offset']),
      );
    }
  }
  return found;
}
