import { randomUUID } from 'node:crypto';
import type {
  Admin,
  Consumer,
  ConsumerCrashEvent,
  ConsumerGroupJoinEvent,
  EachBatchPayload,
  Kafka,
} from 'kafkajs';
import type { Logger } from '../../core/logger.js';
import { PartitionReadTracker } from '../partition-read-tracker.js';
import type {
  PartitionRange,
  ReadPartitionsHandlers,
  ReadPartitionsResult,
  ReadStall,
} from '../transport.js';
import { toTransportRecord } from './kafka-record.js';

/**
 * Consumer settings of a {@link KafkaPartitionReader} (the transport's own, where it has them).
 *
 * @example
 * ```ts
 * const options: KafkaPartitionReaderOptions = { clientId: 'orders', maxWaitTimeInMs: 500 };
 * ```
 */
export interface KafkaPartitionReaderOptions {
  /** Prefix of the private group: `<clientId>.restore.<uuid>`. */
  readonly clientId?: string;
  readonly maxWaitTimeInMs?: number;
  readonly sessionTimeout?: number;
  readonly heartbeatInterval?: number;
  readonly maxBytesPerPartition?: number;
  readonly maxBytes?: number;
}

/**
 * Reads partitions of a Kafka topic between offsets, for the transport's `readPartitions`. kafkajs
 * cannot assign partitions by hand, so each read is a short-lived consumer in a group of its own
 * (`<clientId>.restore.<uuid>`): it subscribes to the topic, and every time the group assigns it the
 * partitions (at the start, and again if kafkajs had to rejoin) it seeks each partition it still
 * wants to where it is and pauses the others. It never commits; the empty group is deleted at the end.
 *
 * It cannot hang unnoticed: ranges are checked against the partitions' offsets first (a `to` past the
 * end is refused, retention-deleted starts are skipped, empty ranges are done without a consumer),
 * offsets that hold no visible record (compacted away, transaction markers) count as read when kafkajs
 * reports the batch it skipped, and a read that makes no progress for `stallTimeoutMs` is reported
 * (`onStall`, or a warning in the log) with the partitions it waits for.
 *
 * @example
 * ```ts
 * const reader = new KafkaPartitionReader(kafka, admin, logger, { clientId: 'orders' });
 * await reader.read('orders-count-changelog', [{ partition: 0, from: 0, to: 1000 }], { onBatch });
 * ```
 * @internal Used by `KafkaTransport.readPartitions`.
 */
export class KafkaPartitionReader {
  constructor(
    private readonly kafka: Pick<Kafka, 'consumer'>,
    private readonly admin: Admin,
    private readonly logger: Logger,
    private readonly options: KafkaPartitionReaderOptions = {},
  ) {}

  /**
   * Reads the ranges (see `PartitionReader.readPartitions`). Resolves once the consumer has left;
   * rejects at once on abort or failure (an `onBatch` already running may still finish; no other starts).
   */
  async read(
    topic: string,
    ranges: readonly PartitionRange[],
    handlers: ReadPartitionsHandlers,
  ): Promise<ReadPartitionsResult> {
    const offsets = ranges.length > 0 ? await this.admin.fetchTopicOffsets(topic) : [];
    const bounds = offsets.map(({ partition, low, high }) => ({
      partition,
      low: Number(low),
      high: Number(high),
    }));
    const tracker = new PartitionReadTracker(topic, ranges, bounds, handlers, (stall) =>
      this.#warnStall(stall),
    );
    if (tracker.settled) return tracker.finished;
    const groupId = `${this.options.clientId ?? 'rivulet'}.restore.${randomUUID()}`;
    const consumer = this.#consumer(groupId);
    const removeListeners = [
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }: ConsumerGroupJoinEvent) => {
        const assigned = payload.memberAssignment[topic] ?? [];
        const unwanted: number[] = [];
        for (const partition of assigned) {
          const position = tracker.position(partition);
          if (position !== undefined && tracker.wants(partition))
            consumer.seek({ topic, partition, offset: String(position) });
          else unwanted.push(partition);
        }
        if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted }]);
      }),
      // Also emitted for batches that held no visible record: the position moves past them.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === topic) tracker.advance(payload.partition, Number(payload.lastOffset) + 1);
      }),
      consumer.on(consumer.events.CRASH, ({ payload }: ConsumerCrashEvent) => {
        if (!payload.restart) tracker.fail(payload.error);
        else this.logger.warn({ err: payload.error, topic, group: groupId }, 'partition reader restarts');
      }),
    ];
    let done = false;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: (payload) => this.#eachBatch(consumer, tracker, payload),
      });
      const result = await tracker.finished;
      done = true;
      return result;
    } finally {
      tracker.fail(new Error('partition reader closed')); // no-op once settled
      const cleanup = this.#close(consumer, groupId, removeListeners);
      // After an abort or a failure, an `onBatch` may still be running (kafkajs waits for it before it
      // disconnects): the caller hears of the failure now, and the consumer goes when it returns.
      if (done) await cleanup;
    }
  }

  async #close(consumer: Consumer, groupId: string, removeListeners: readonly (() => void)[]): Promise<void> {
    for (const remove of removeListeners) remove();
    await consumer.disconnect().catch((error: unknown) => {
      this.logger.debug({ err: error, group: groupId }, 'partition reader did not disconnect cleanly');
    });
    await this.admin.deleteGroups([groupId]).catch((error: unknown) => {
      this.logger.debug({ err: error, group: groupId }, 'partition reader could not delete its group');
    });
  }

  async #eachBatch(
    consumer: Consumer,
    tracker: PartitionReadTracker,
    payload: EachBatchPayload,
  ): Promise<void> {
    const { batch } = payload;
    if (tracker.settled || !payload.isRunning() || payload.isStale()) return;
    const { topic, partition } = batch;
    if (tracker.wants(partition)) {
      try {
        await tracker.deliver(partition, batch.messages.map(toTransportRecord));
      } catch {
        return; // onBatch failed: the tracker has failed the read
      }
    }
    if (!tracker.wants(partition) && !tracker.settled) consumer.pause([{ topic, partitions: [partition] }]);
    if (!tracker.settled) await payload.heartbeat();
  }

  #consumer(groupId: string): Consumer {
    const o = this.options;
    return this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      ...(o.maxWaitTimeInMs !== undefined ? { maxWaitTimeInMs: o.maxWaitTimeInMs } : {}),
      ...(o.sessionTimeout !== undefined ? { sessionTimeout: o.sessionTimeout } : {}),
      ...(o.heartbeatInterval !== undefined ? { heartbeatInterval: o.heartbeatInterval } : {}),
      ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
    });
  }

  #warnStall(stall: ReadStall): void {
    this.logger.warn(
      { topic: stall.topic, idleMs: stall.idleMs, waitingFor: stall.waitingFor, pending: stall.pending },
      stall.waitingFor === 'onBatch'
        ? 'partition read is waiting on its consumer'
        : 'partition read has received nothing from the broker',
    );
  }
}
