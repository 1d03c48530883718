import type { Transport } from '../../lib/index.js';
import { isPartitionReader } from '../../lib/transports/transport.js';

/**
 * A transport that forwards to `inner`, except for the methods given in `overrides`. It reads
 * partitions (tables restore through it) when `inner` does.
 */
export function delegateTransport(inner: Transport, overrides: Partial<Transport> = {}): Transport {
  return {
    description: inner.description,
    connect: () => inner.connect(),
    close: () => inner.close(),
    ensureTopics: (topics) => inner.ensureTopics(topics),
    produce: (records) => inner.produce(records),
    consume: (options, handlers) => inner.consume(options, handlers),
    committedOffsets: (group, topic) => inner.committedOffsets(group, topic),
    endOffsets: (topic) => inner.endOffsets(topic),
    ...(isPartitionReader(inner) ? { readPartitions: inner.readPartitions.bind(inner) } : {}),
    ...overrides,
  };
}
