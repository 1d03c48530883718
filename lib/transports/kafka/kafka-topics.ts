import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { type Backoff, backoffDelay } from '../../core/error-policy.js';
import { ConfigurationError, RivuletError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { TopicSpec } from '../transport.js';

/**
 * Topics created by {@link KafkaTransport.ensureTopics} did not become ready (a leader for every
 * partition in the cluster's metadata) in time. Retriable: the next attempt usually finds them ready.
 *
 * @example
 * ```ts
 * transport.ensureTopics(specs).catch((error) => {
 *   if (error instanceof TopicsNotReadyError) console.warn(error.topics, error.message);
 * });
 * ```
 */
export class TopicsNotReadyError extends RivuletError {
  constructor(
    readonly topics: readonly string[],
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Topics ${topics.join(', ')} are not ready: ${reason}`, { cause });
  }
}

/** Kafka errors that creating a topic or reading its fresh metadata may meet for a while. */
const TRANSIENT_TOPIC_ERRORS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
  'REQUEST_TIMED_OUT',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'BROKER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'NETWORK_EXCEPTION',
  'KAFKA_STORAGE_ERROR',
]);
const TRANSIENT_CLIENT_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSTimeout',
]);

/** A transient error, or one wrapping only transient ones (kafkajs's retry and aggregate errors). */
function isTransientTopicError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { type, name, errors, cause } = error as {
    type?: unknown;
    name?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (typeof type === 'string' && TRANSIENT_TOPIC_ERRORS.has(type)) return true;
  if (typeof name === 'string' && TRANSIENT_CLIENT_ERRORS.has(name)) return true;
  if (Array.isArray(errors) && errors.length > 0)
    return errors.every((inner: unknown) => isTransientTopicError(inner, depth + 1) || isAlreadyThere(inner));
  return cause !== undefined && cause !== error && isTransientTopicError(cause, depth + 1);
}

const isAlreadyThere = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { type?: unknown }).type === 'TOPIC_ALREADY_EXISTS';

/** Thrown by the readiness check while a new topic's metadata is incomplete. */
class NotReadyYet extends Error {
  readonly type = 'LEADER_NOT_AVAILABLE';
}

/**
 * Creates `missing` topics and waits until fresh metadata shows a leader for every partition and the
 * leaders answer for their partitions' offsets, retrying the errors a new topic meets for a while
 * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER…) with backoff until
 * `readyTimeoutMs` ({@link TopicsNotReadyError} then). A setting the broker refuses
 * (replication factor, config) is a {@link ConfigurationError}.
 * @internal
 */
export async function createTopics(
  admin: Admin,
  missing: readonly TopicSpec[],
  options: { readonly logger: Logger; readonly backoff: Backoff; readonly readyTimeoutMs: number },
): Promise<void> {
  const names = missing.map((topic) => topic.name);
  const backoff = options.backoff;
  const deadline = Date.now() + options.readyTimeoutMs;
  let created = false;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!created) {
        await admin.createTopics({
          waitForLeaders: false,
          topics: missing.map((topic) => ({
            topic: topic.name,
            numPartitions: topic.partitions ?? -1,
            replicationFactor: topic.replicationFactor ?? -1,
            configEntries: Object.entries(topic.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
        created = true;
        options.logger.debug({ topics: names }, 'kafka topics created');
      }
      await assertReady(admin, missing);
      return;
    } catch (error) {
      if (!isTransientTopicError(error)) {
        if ((error as { retriable?: unknown }).retriable === false && !(error instanceof RivuletError))
          throw new ConfigurationError(
            `Cannot create topics ${names.join(', ')}: ${(error as Error).message}`,
            { cause: error },
          );
        throw error;
      }
      const delay = backoffDelay(backoff, attempt);
      if (Date.now() + delay > deadline) throw new TopicsNotReadyError(names, error);
      options.logger.debug(
        { topics: names, attempt, retryInMs: Math.round(delay), reason: (error as Error).message },
        'kafka topics not ready yet',
      );
      await sleep(delay);
    }
  }
}

/**
 * Throws a transient error unless every partition of every topic has a leader in fresh metadata and
 * that leader answers for it. On KRaft the metadata can name a leader a moment before the leader
 * serves the partition, so a first ListOffsets may still meet NOT_LEADER_OR_FOLLOWER: asking for the
 * offsets here keeps that moment inside `ensureTopics` instead of in the caller's first request.
 */
async function assertReady(admin: Admin, topics: readonly TopicSpec[]): Promise<void> {
  const { topics: found } = await admin.fetchTopicMetadata({ topics: topics.map((topic) => topic.name) });
  for (const topic of topics) {
    const partitions = found.find((metadata) => metadata.name === topic.name)?.partitions ?? [];
    const leaderless = partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0);
    if (partitions.length < (topic.partitions ?? 1) || leaderless.length > 0)
      throw new NotReadyYet(
        `${topic.name}: ${partitions.length} partition(s) in metadata, ${leaderless.length} without a leader`,
      );
  }
  for (const topic of topics) await admin.fetchTopicOffsets(topic.name);
}
