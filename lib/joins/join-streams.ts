import type { AgentOptions } from '../agent/agent.js';
import type { App } from '../app/app.js';
import type { Codec } from '../codecs/codec.js';
import { string } from '../codecs/string.js';
import { ConfigurationError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { copyTopic } from '../streams/repartition.js';
import type { TableStore } from '../tables/stores/table-store.js';
import type { Topic } from '../topics/topic.js';
import { InvalidEventTimeError } from '../windows/window-errors.js';
import { type JoinSide, sideCodec } from './join-side.js';
import type { JoinType } from './join-state.js';
import { StreamJoin } from './stream-join.js';

/**
 * Options of {@link joinStreams}.
 *
 * @example
 * ```ts
 * const options: JoinStreamsOptions<Order, Payment, string, string, string, 'left'> = {
 *   within: 600_000, graceMs: 60_000, type: 'left', rightKey: (m) => m.value.orderId,
 * };
 * ```
 */
export interface JoinStreamsOptions<L, R, LK, RK, K, T extends JoinType> {
  /** Records match when their event times are at most this far apart, in ms (`JoinWindows.ofTimeDifference…`). */
  readonly within: number;
  /**
   * How far behind stream time a record is still accepted past its window, in ms (default 0): a record
   * with `t + within < streamTime − graceMs` is late. Stream time is per partition of the join topic,
   * the lower of the two sides' highest event times (see {@link joinStreams}), so the grace need not
   * cover one copy agent running ahead of the other: only records out of order within a side, and the
   * lead a side may take in a partition before the other side's first record reaches it.
   */
  readonly graceMs?: number;
  /** `inner` (default), `left` or `outer`: see {@link joinStreams}. */
  readonly type?: T;
  /** The join key of a left message (default: its key). `null`: the record joins nothing. */
  readonly leftKey?: (message: Message<L, LK | null>) => K | null;
  /** The join key of a right message (default: its key). `null`: the record joins nothing. */
  readonly rightKey?: (message: Message<R, RK | null>) => K | null;
  /** The event time of a left message, ms since the epoch (default: its timestamp). */
  readonly leftTime?: (message: Message<L, LK | null>) => number;
  /** The event time of a right message, ms since the epoch (default: its timestamp). */
  readonly rightTime?: (message: Message<R, RK | null>) => number;
  /** Codec of join keys (default `string()`). */
  readonly keyCodec?: Codec<K>;
  /** A late record: `dead-letter` (default, with a `LateJoinRecordError`) or `drop` (counted). */
  readonly late?: 'dead-letter' | 'drop';
  /**
   * Idleness, in ms of wall clock (default 1000). A side that sent nothing to a partition of the join
   * topic for this long, while that partition was read up to its end, stops holding the partition's
   * stream time back (until its next record). A partition that has caught up and received nothing for
   * this long lets stream time follow the wall clock, so records expire (and unmatched ones of a left or
   * outer join go out) with no new input.
   */
  readonly idleAfterMs?: number;
  /** Partitions of the join topic when it is created (default: the most either side declares). */
  readonly partitions?: number;
  /** Replication factor of the join topic and of the state's changelog when created (Kafka only). */
  readonly replicationFactor?: number;
  /** Configuration of the join topic when it is created (Kafka only). */
  readonly config?: Readonly<Record<string, string>>;
  /** Options of the two copy agents, over the app's `agentDefaults`. */
  readonly agent?: AgentOptions;
  /** Where this worker keeps the join's state (default memory; see `TableOptions.store`). */
  readonly store?: () => TableStore;
  /** Standby replicas of the state (see `TableOptions.standbys`; default 0). */
  readonly standbys?: number;
}

/**
 * Declares a windowed stream–stream join (Kafka Streams' `KStream.join/leftJoin/outerJoin` with
 * `JoinWindows.ofTimeDifferenceAndGrace(within, graceMs)`): a left and a right record match when their
 * join keys are equal and their event times at most `within` ms apart. Run it with {@link windowJoin}
 * in the agent that reads the returned join's `topic`.
 *
 * How: both sides go through one internal topic, `<app id>-<name>-join`, copied there by two agents
 * (`<name>-left`, `<name>-right`, as `repartition` does) keyed by the join key, tagged with their side
 * and stamped with their event time. So the inputs need not be co-partitioned (Kafka Streams requires
 * it): one topic lands each key's records of both sides on the same worker by construction. Each copy
 * carries its origin, so the join's state counts a record copied twice (after a crash of a copy agent)
 * once: exact across the hop. The two copy agents run apart, so one side may reach the join topic
 * ahead of the other. So stream time is kept per side (see below): the side behind holds it back, and
 * its records are not late for the other side's lead (Kafka Streams' stream time is the highest event
 * time of either input, which makes them late).
 * The state (each key's records that may still match, and results not yet settled) is a changelogged
 * table, `<app id>-<name>-join-changelog`, restored on assignment as any table's.
 *
 * Semantics, per partition of the join topic: stream time is the lower of the two sides' highest event
 * times seen. A side not seen yet does not hold it back, nor a side idle (nothing received for
 * `idleAfterMs` while the partition was read to its end, until its next record); stream time never moves
 * back. It is in the state's changelog with each side's highest event time, so a new owner of the
 * partition resumes with the same. The watermark is stream time − `graceMs`; a record whose
 * `t + within` is behind the watermark is late
 * (dead-lettered with `LateJoinRecordError`, or dropped). Each match is emitted once, as a message of
 * its own (key: the join key; timestamp: the later event time). A record is kept while a record on
 * time could still match it, until the watermark passes `t + 2 × within` (Kafka Streams' store
 * retention, `before + after + grace`); then it expires, and with `type: 'left'` an unmatched left
 * record, with `'outer'` an unmatched record of either side, is emitted with `undefined` for the other
 * side. Unlike Kafka Streams, which emits an unmatched record once the watermark passes `t + within`
 * and may still join it afterwards, rivulet waits until no match is possible: no result is spurious
 * and none is emitted twice. Records with a `null` join key join nothing (settled on purpose).
 *
 * @example
 * ```ts
 * const orders = app.topic('orders', { value: json(Order) }); // keyed by order id
 * const payments = app.topic('payments', { value: json(Payment) }); // keyed by payment id
 * const paid = joinStreams(app, 'order-payments', orders, payments, {
 *   within: 10 * 60_000, graceMs: 60_000, type: 'left', rightKey: (m) => m.value.orderId,
 * });
 * app.agent('match', paid.topic, (side$) =>
 *   side$.pipe(windowJoin(paid, (order, payment) => ({ order, paid: payment !== undefined })), toTopic(out)),
 * );
 * ```
 */
export function joinStreams<L, R, LK, RK, T extends JoinType = 'inner'>(
  app: App,
  name: string,
  left: Topic<L, LK>,
  right: Topic<R, RK>,
  options: JoinStreamsOptions<L, R, LK, RK, string, T> & { readonly keyCodec?: undefined },
): StreamJoin<string, L, R, T>;
/**
 * Joins on keys of another type than strings, encoded by `options.keyCodec`.
 *
 * @example
 * ```ts
 * const filled = joinStreams(app, 'fills', orders, fills, {
 *   within: 60_000, keyCodec: json(z.number()), leftKey: (m) => m.value.id, rightKey: (m) => m.value.orderId,
 * });
 * ```
 */
export function joinStreams<L, R, LK, RK, K, T extends JoinType = 'inner'>(
  app: App,
  name: string,
  left: Topic<L, LK>,
  right: Topic<R, RK>,
  options: JoinStreamsOptions<L, R, LK, RK, K, T> & { readonly keyCodec: Codec<K> },
): StreamJoin<K, L, R, T>;
export function joinStreams<L, R, LK, RK, K, T extends JoinType = 'inner'>(
  app: App,
  name: string,
  left: Topic<L, LK>,
  right: Topic<R, RK>,
  options: JoinStreamsOptions<L, R, LK, RK, K, T>,
): StreamJoin<K, L, R, T> {
  const { within } = options;
  const graceMs = options.graceMs ?? 0;
  if (!Number.isFinite(within) || within < 0 || !Number.isFinite(graceMs) || graceMs < 0)
    throw new ConfigurationError(`Stream join ${name}: within and graceMs must be finite and ≥ 0`);
  if (app.tables.has(`${name}-join`))
    throw new ConfigurationError(`Stream join ${name}: a table named ${name}-join exists`);
  const keyCodec = options.keyCodec ?? (string() as unknown as Codec<K>);
  const partitions =
    options.partitions ??
    (left.options.partitions === undefined && right.options.partitions === undefined
      ? undefined
      : Math.max(left.options.partitions ?? 1, right.options.partitions ?? 1));
  const topic = app.topic<JoinSide<L, R>, K>(`${app.id}-${name}-join`, {
    value: sideCodec(left.valueCodec, right.valueCodec),
    key: keyCodec,
    ...(partitions !== undefined ? { partitions } : {}),
    ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
  });
  const eventTime =
    <V, MK>(time: ((message: Message<V, MK | null>) => number) | undefined) =>
    (message: Message<V, MK | null>): number => {
      const t = time ? time(message) : message.timestamp;
      if (typeof t !== 'number' || !Number.isFinite(t)) throw new InvalidEventTimeError(name, t);
      return Math.floor(t);
    };
  copyTopic(
    app,
    `${name}-left`,
    left,
    topic,
    {
      key: options.leftKey ?? ((m) => m.key as unknown as K | null),
      value: (value): JoinSide<L, R> => ({ side: 'left', value }),
      timestamp: eventTime(options.leftTime),
    },
    options.agent,
  );
  copyTopic(
    app,
    `${name}-right`,
    right,
    topic,
    {
      key: options.rightKey ?? ((m) => m.key as unknown as K | null),
      value: (value): JoinSide<L, R> => ({ side: 'right', value }),
      timestamp: eventTime(options.rightTime),
    },
    options.agent,
  );
  const join = new StreamJoin<K, L, R, T>(
    { appId: app.id, logger: app.logger, transport: () => app.transport() },
    name,
    (options.type ?? 'inner') as T,
    {
      topic,
      left: left.valueCodec,
      right: right.valueCodec,
      key: keyCodec,
      within,
      graceMs,
      late: options.late ?? 'dead-letter',
      idleAfterMs: options.idleAfterMs ?? 1000,
      ...(options.store ? { store: options.store } : {}),
      ...(options.standbys !== undefined ? { standbys: options.standbys } : {}),
      ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
    },
  );
  app.addStreamJoin(join as unknown as StreamJoin<unknown, unknown, unknown, JoinType>);
  return join;
}
