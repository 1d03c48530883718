import type { Transport } from '../transports/transport.js';

/**
 * How far a consumer group is behind on one partition.
 *
 * @example
 * ```ts
 * for (const { partition, end, committed, lag } of await commitLag(transport, 'orders.confirm', 'orders'))
 *   console.log(`p${partition}: committed ${committed ?? '-'} of ${end}, lag ${lag}`);
 * ```
 */
export interface PartitionLag {
  readonly partition: number;
  /** Offset the next produced record will get. */
  readonly end: number;
  /** The group's committed offset, or `undefined` before its first commit. */
  readonly committed: number | undefined;
  /** `end − committed` (the whole partition, from offset 0, before the first commit); never negative. */
  readonly lag: number;
}

/**
 * Asks the broker how far a group is behind on each partition of a topic: end offset − committed offset.
 *
 * @example
 * ```ts
 * const lags = await commitLag(await app.transport(), agent.group, agent.topic.name);
 * const total = lags.reduce((sum, p) => sum + p.lag, 0);
 * ```
 */
export async function commitLag(transport: Transport, group: string, topic: string): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([
    transport.endOffsets(topic),
    transport.committedOffsets(group, topic),
  ]);
  return ends.map(({ partition, offset: end }) => {
    const done = committed.find((c) => c.partition === partition)?.offset;
    return { partition, end, committed: done, lag: Math.max(0, end - (done ?? 0)) };
  });
}

/**
 * The total lag of a list of partitions.
 *
 * @example
 * ```ts
 * const behind = totalLag(await commitLag(transport, 'orders.confirm', 'orders'));
 * ```
 */
export function totalLag(lags: readonly PartitionLag[]): number {
  return lags.reduce((sum, partition) => sum + partition.lag, 0);
}
