import type {
  Consumer,
  ConsumerCommitOffsetsEvent,
  ConsumerCrashEvent,
  ConsumerGroupJoinEvent,
  ConsumerHeartbeatEvent,
  EachBatchPayload,
  Offsets,
} from 'kafkajs';
import { RebalanceInProgressError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/redact.js';
import { GroupMembership, type GroupStats } from '../group-membership.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  TopicPartition,
  TopicPartitionOffset,
  TransportConsumer,
  TransportRecord,
} from '../transport.js';
import { toTransportRecord } from './kafka-record.js';

/** A partition this member owns, and the next offset to hand over (undefined: whatever comes). */
interface Owned extends TopicPartition {
  position: number | undefined;
}

/** Kafka error codes that mean "this member's generation or assignment is no longer current". */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'FENCED_INSTANCE_ID',
]);

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * A consumer-group member on kafkajs, driven the way rivulet's runner needs:
 *
 * - `eachBatch` with `autoCommit: false` and `eachBatchAutoResolve: false`. Every `onBatch` is awaited
 *   (one at a time, over all partitions) while `heartbeat()` runs; only the records it took are resolved,
 *   so kafkajs fetches the rest again from there.
 * - Rebalances: kafkajs has no revoke hook and starts every partition again from its committed offset
 *   after a rejoin. On `GROUP_JOIN` this class compares the new assignment with the one it had:
 *   partitions lost (or all of them, when the member id changed: the member had been dropped from the
 *   group) go to `onRevoked`, new ones to `onAssigned`. For partitions it keeps, it remembers how far it
 *   had handed over and skips records below that when kafkajs fetches them again.
 * - Commits: refused at once (`RebalanceInProgressError`) for partitions not owned now; otherwise one
 *   OffsetCommit with the generation of the moment, never retried by kafkajs into a later generation.
 * - The group as this member sees it ({@link KafkaConsumer.group}): kafkajs's instrumentation events
 *   (REBALANCING, GROUP_JOIN, HEARTBEAT and COMMIT_OFFSETS for the generation, CRASH). Each join is
 *   one info line; a crash one warning naming the brokers.
 * @internal Created by `KafkaTransport.consume`.
 */
export class KafkaConsumer implements TransportConsumer {
  #owned = new Map<string, Owned>();
  readonly #paused = new Set<string>();
  #memberId: string | undefined;
  #groupChange: Promise<void> = Promise.resolve();
  #groupChanges = 0;
  #delivering: Promise<unknown> = Promise.resolve();
  #deliveryPending = false;
  #running = false;
  #stopping: Promise<void> | undefined;
  #wakeStop: () => void = () => {};
  readonly #stopSignal: Promise<void>;
  #commitOnce: ((offsets: Offsets) => Promise<void>) | undefined;
  readonly #removeListeners: (() => void)[] = [];
  readonly #membership = new GroupMembership();

  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
    private readonly handlers: ConsumerHandlers,
    private readonly logger: Logger,
    /** How often to call kafkajs's `heartbeat()` while an `onBatch` is pending (it rate-limits itself). */
    private readonly heartbeatEveryMs: number,
    /** The brokers, as the transport describes them (never credentials), for warnings. */
    private readonly brokers: string = 'kafka',
  ) {
    this.#stopSignal = new Promise((resolve) => (this.#wakeStop = resolve));
  }

  /** Connects, joins the group and starts fetching; resolves once the first assignment is known. */
  async start(): Promise<void> {
    const { consumer } = this;
    this.#removeListeners.push(
      consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => this.#onGroupJoin(event)),
      // Emitted right before kafkajs rejoins: a commit sent now still carries the current generation.
      consumer.on(consumer.events.REBALANCING, () => void this.#rebalancing()),
      consumer.on(consumer.events.CRASH, (event: ConsumerCrashEvent) => this.#onCrash(event)),
      consumer.on(consumer.events.HEARTBEAT, ({ payload }: ConsumerHeartbeatEvent) =>
        this.#membership.generation(payload.groupGenerationId),
      ),
      consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }: ConsumerCommitOffsetsEvent) =>
        this.#membership.generation(payload.groupGenerationId),
      ),
    );
    this.#running = true;
    await consumer.connect();
    await consumer.subscribe({
      topics: [...this.options.topics],
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#paused.add(key(tp));
    this.#apply('pause', partitions);
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#paused.delete(key(tp));
    this.#apply('resume', partitions);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (!this.#running) throw new RebalanceInProgressError('the consumer has left its group');
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of offsets) {
      if (!this.#owned.has(key({ topic, partition })))
        throw new RebalanceInProgressError(`${topic}[${partition}] is no longer assigned to this consumer`);
      let partitions = byTopic.get(topic);
      if (!partitions) byTopic.set(topic, (partitions = []));
      partitions.push({ partition, offset: String(offset) });
    }
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    try {
      // kafkajs's `consumer.commitOffsets` retries, and a retry after a rejoin would go out with the new
      // generation, for partitions that may belong to another member by then. The batch payload's commit
      // is a single OffsetCommit with the generation current when it is called (checked above).
      if (this.#commitOnce) await this.#commitOnce({ topics });
      else
        await this.consumer.commitOffsets(
          topics.flatMap(({ topic, partitions }) => partitions.map((p) => ({ topic, ...p }))),
        );
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (typeof type === 'string' && REBALANCE_ERRORS.has(type))
        throw new RebalanceInProgressError(`commit refused: ${type}`, { cause: error });
      throw error;
    }
  }

  /** This member's view of its group: generation, rebalances, partitions gained and lost, time spent. */
  group(): GroupStats {
    return this.#membership.stats();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#running = false;
      this.#wakeStop();
      try {
        // kafkajs waits for the batch under way, then sends LeaveGroup: the others rebalance at once,
        // without waiting for this member's session timeout.
        await this.consumer.disconnect();
      } catch (error) {
        this.logger.warn(
          { err: error, group: this.options.groupId },
          'kafka consumer did not disconnect cleanly',
        );
      }
      for (const remove of this.#removeListeners) remove();
      this.#membership.left();
      await this.#delivering;
    })();
    return this.#stopping;
  }

  #apply(action: 'pause' | 'resume', partitions: readonly TopicPartition[]): void {
    if (partitions.length === 0 || !this.#running) return;
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) {
      const list = byTopic.get(topic);
      if (list) list.push(partition);
      else byTopic.set(topic, [partition]);
    }
    try {
      this.consumer[action]([...byTopic].map(([topic, list]) => ({ topic, partitions: list })));
    } catch (error) {
      // Between a crash and kafkajs's restart there is no consumer group to pause; deliveries are
      // still held back by `#paused`, and the pauses are applied again on the next join.
      this.logger.debug({ err: error, group: this.options.groupId }, `kafka consumer could not ${action}`);
    }
  }

  #onGroupJoin({ payload }: ConsumerGroupJoinEvent): void {
    const sameMember = payload.memberId === this.#memberId;
    this.#memberId = payload.memberId;
    const previous = this.#owned;
    const next = new Map<string, Owned>();
    const assigned: TopicPartition[] = [];
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions ?? []) {
        const tp = { topic, partition };
        const kept = sameMember ? previous.get(key(tp)) : undefined;
        next.set(key(tp), kept ?? { topic, partition, position: undefined });
        if (!kept) assigned.push(tp);
      }
    }
    const revoked = [...previous.values()]
      .filter((tp) => next.get(key(tp)) !== tp)
      .map(({ topic, partition }) => ({ topic, partition }));
    this.#owned = next;
    for (const paused of [...this.#paused]) if (!next.has(paused)) this.#paused.delete(paused);
    this.#apply(
      'pause',
      [...next.values()].filter((tp) => this.#paused.has(key(tp))),
    );
    this.#membership.joined({
      memberId: payload.memberId,
      leader: payload.isLeader,
      gained: assigned.length,
      lost: revoked.length,
      partitions: next.size,
      durationMs: payload.duration,
    });
    const group = this.#membership.stats();
    this.logger.info(
      {
        group: this.options.groupId,
        member: payload.memberId,
        leader: payload.isLeader,
        assigned: assigned.map(({ partition }) => partition),
        revoked: revoked.map(({ partition }) => partition),
        kept: next.size - assigned.length,
        rebalanceMs: group.lastRebalanceMs,
      },
      `kafka consumer joined group ${this.options.groupId}: ${next.size} partitions (+${assigned.length} −${revoked.length}) after ${group.lastRebalanceMs ?? 0} ms`,
    );
    this.#changeAssignment(revoked, assigned);
  }

  async #rebalancing(): Promise<void> {
    this.#membership.rebalancing();
    try {
      await this.handlers.onRebalancing?.();
    } catch (error) {
      this.logger.debug({ err: error, group: this.options.groupId }, 'commit before the rebalance failed');
    }
  }

  #onCrash({ payload }: ConsumerCrashEvent): void {
    // kafkajs has left the group: everything owned is gone (a restart joins again as a new member).
    const revoked = [...this.#owned.values()].map(({ topic, partition }) => ({ topic, partition }));
    this.#owned = new Map();
    this.#memberId = undefined;
    this.#membership.dropped(payload.restart);
    this.#changeAssignment(revoked, []);
    if (payload.restart) {
      this.logger.warn(
        { err: payload.error, group: this.options.groupId, transport: this.brokers },
        `kafka consumer of group ${this.options.groupId} on ${this.brokers} crashed (${redactText(payload.error.message)}); rejoining`,
      );
      return;
    }
    this.#running = false;
    this.#wakeStop();
    this.handlers.onCrash?.(payload.error);
  }

  #changeAssignment(revoked: readonly TopicPartition[], joined: readonly TopicPartition[]): void {
    // kafkajs may rejoin once more while it stops (a rebalance under way when `stop()` was called):
    // partitions it is handed then are never fetched, and preparing them (a table restoring its
    // changelog) would start work after the agent let go of its resources.
    const assigned = this.#running ? joined : [];
    if (revoked.length === 0 && assigned.length === 0) return;
    this.#groupChanges++;
    this.#groupChange = this.#groupChange.then(async () => {
      try {
        if (revoked.length > 0) await this.handlers.onRevoked?.(revoked);
        if (assigned.length > 0) this.handlers.onAssigned?.(assigned);
      } catch (error) {
        this.logger.error({ err: error, group: this.options.groupId }, 'partition assignment handler failed');
      } finally {
        this.#groupChanges--;
      }
    });
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale } = payload;
    this.#commitOnce = payload.commitOffsetsIfNecessary;
    const live = (): boolean => this.#running && isRunning() && !isStale();
    // Revocations first, and never two `onBatch` at once (one may be left over from before a rejoin).
    if (this.#groupChanges > 0 && !(await this.#whileHeartbeating(this.#groupChange, heartbeat, live)))
      return;
    if (this.#deliveryPending && !(await this.#whileHeartbeating(this.#delivering, heartbeat, live))) return;
    if (!live()) return;
    const tp = { topic: batch.topic, partition: batch.partition };
    const owned = this.#owned.get(key(tp));
    if (!owned || this.#paused.has(key(tp)) || batch.messages.length === 0) return;
    const from = owned.position;
    const records: TransportRecord[] = [];
    for (const message of batch.messages) {
      const record = toTransportRecord(message);
      if (from === undefined || record.offset >= from) records.push(record);
    }
    if (records.length === 0) {
      // All of it was handed over before a rejoin made kafkajs fetch it again.
      payload.resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      return;
    }
    const delivery = this.#deliver(owned, records);
    this.#deliveryPending = true;
    this.#delivering = delivery.catch(() => undefined).finally(() => (this.#deliveryPending = false));
    if (!(await this.#whileHeartbeating(delivery, heartbeat, live))) return;
    if (this.#owned.get(key(tp)) === owned && owned.position !== undefined)
      payload.resolveOffset(String(owned.position - 1));
  }

  async #deliver(owned: Owned, records: readonly TransportRecord[]): Promise<void> {
    let taken: number | void;
    try {
      taken = await this.handlers.onBatch({ topic: owned.topic, partition: owned.partition, records });
    } catch (error) {
      this.logger.error({ err: error, group: this.options.groupId }, 'onBatch failed; the consumer stops');
      this.#running = false;
      this.#wakeStop();
      this.handlers.onCrash?.(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    const count = typeof taken === 'number' ? Math.max(0, Math.min(taken, records.length)) : records.length;
    if (count > 0) owned.position = records[count - 1]!.offset + 1;
    else owned.position ??= records[0]!.offset;
  }

  /**
   * Waits for `work` and calls `heartbeat()` meanwhile (a rebalance error from it propagates, for kafkajs
   * to rejoin). Resolves to false when the consumer stopped or the batch went stale first.
   */
  async #whileHeartbeating(
    work: Promise<unknown>,
    heartbeat: () => Promise<void>,
    live: () => boolean,
  ): Promise<boolean> {
    let done = false;
    const finished = work.then(
      () => (done = true),
      () => (done = true),
    );
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        finished,
        this.#stopSignal,
        new Promise((resolve) => (timer = setTimeout(resolve, this.heartbeatEveryMs))),
      ]);
      clearTimeout(timer);
      if (done) return live();
      if (!live()) return false;
      try {
        await heartbeat();
      } catch (error) {
        // The group is rebalancing (or this member was dropped): kafkajs waits for this batch before it
        // rejoins, so settled work committed here is committed before any partition moves.
        await this.#rebalancing();
        throw error;
      }
    }
  }
}
