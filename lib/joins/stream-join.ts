import type { Codec } from '../codecs/codec.js';
import { json } from '../codecs/json.js';
import type { Message } from '../core/message.js';
import { REPARTITION_HEADERS } from '../core/repartition-headers.js';
import type { Topic } from '../topics/topic.js';
import { type ApplyOutcome, Table, type TableHost } from '../tables/table.js';
import type { TableStore } from '../tables/stores/table-store.js';
import { ResultBindings } from '../windows/result-bindings.js';
import { JoinPartitions } from './join-partitions.js';
import { type JoinBinding, type JoinPending, JoinResults } from './join-results.js';
import type { JoinSide } from './join-side.js';
import { type JoinState, type JoinType, addRecord, expiryOf, isLate } from './join-state.js';

/** What {@link StreamJoin.accept} reports for a record. @internal */
export type JoinAcceptOutcome<K> =
  ApplyOutcome<K, JoinState> | { readonly kind: 'late'; readonly watermark: number };

/**
 * Counters of a stream–stream join ({@link StreamJoin.stats}).
 *
 * @example
 * ```ts
 * const { watermarks, pending, lateDeadLettered } = paid.stats();
 * ```
 */
export interface StreamJoinStats {
  readonly name: string;
  /** Watermark (stream time − grace) per owned partition of the join topic. */
  readonly watermarks: Readonly<Record<number, number>>;
  /** Results emitted (counting re-emits after a failure or a hand-over). */
  readonly emitted: number;
  /** Results settled downstream (removed from the state). */
  readonly settled: number;
  /** Results handed downstream and not settled yet. */
  readonly pending: number;
  /** Results that failed for good and went to the dead-letter topic. */
  readonly resultsDeadLettered: number;
  /** Late records sent to the dead-letter topic. */
  readonly lateDeadLettered: number;
  /** Late records counted and dropped (`late: 'drop'`). */
  readonly lateDropped: number;
}

/** What a {@link StreamJoin} is made of (`joinStreams` builds it). @internal */
export interface StreamJoinParts<K, L, R> {
  readonly topic: Topic<JoinSide<L, R>, K>;
  readonly left: Codec<L>;
  readonly right: Codec<R>;
  readonly key: Codec<K>;
  readonly within: number;
  readonly graceMs: number;
  readonly late: 'dead-letter' | 'drop';
  readonly idleAfterMs: number;
  readonly store?: () => TableStore;
  readonly standbys?: number;
  readonly replicationFactor?: number;
}

/**
 * A windowed stream–stream join, declared by {@link joinStreams}: its internal topic (`topic`, both
 * sides' copies keyed by the join key), and the changelogged state behind it (`<app id>-<name>-join-changelog`:
 * per key, each side's records that may still match and the results not yet settled). Run it with
 * {@link windowJoin} in the agent that reads `topic`.
 *
 * @example
 * ```ts
 * const paid = joinStreams(app, 'order-payments', orders, payments, { within: 600_000, type: 'left' });
 * app.agent('match', paid.topic, (side$) => side$.pipe(windowJoin(paid, (order, payment) => ({ order, payment })), toTopic(out)));
 * ```
 */
export class StreamJoin<K, L, R, T extends JoinType = 'inner'> {
  /** The internal topic `<app id>-<name>-join`: give it to `app.agent()`. */
  readonly topic: Topic<JoinSide<L, R>, K>;
  /** Records match when their event times are at most this far apart (ms). */
  readonly within: number;
  readonly graceMs: number;
  readonly late: 'dead-letter' | 'drop';
  readonly idleAfterMs: number;
  /** @internal The state per join key. */
  readonly table: Table<K, JoinState>;
  readonly #codecs: { readonly left: Codec<L>; readonly right: Codec<R> };
  readonly #results: JoinResults<K, L, R>;
  readonly #parts: JoinPartitions<K>;
  readonly #bindings = new ResultBindings<JoinBinding<K>>({
    serve: () => this.#parts.serve(),
    unserved: () => {
      this.#parts.stop();
      this.#results.unbound();
    },
  });
  #lateDeadLettered = 0;
  #lateDropped = 0;

  /** @internal Use {@link joinStreams}. */
  constructor(
    host: TableHost,
    readonly name: string,
    readonly type: T,
    parts: StreamJoinParts<K, L, R>,
  ) {
    this.topic = parts.topic;
    this.within = parts.within;
    this.graceMs = parts.graceMs;
    this.late = parts.late;
    this.idleAfterMs = parts.idleAfterMs;
    this.#codecs = { left: parts.left, right: parts.right };
    this.table = new Table<K, JoinState>(
      host,
      `${name}-join`,
      parts.key,
      json<JoinState>(),
      {
        ...(parts.store ? { store: parts.store } : {}),
        ...(parts.replicationFactor !== undefined ? { replicationFactor: parts.replicationFactor } : {}),
        ...(parts.standbys !== undefined ? { standbys: parts.standbys } : {}),
      },
      {
        // Restored state expires, and its pending results go out, even if no record comes.
        ready: (partition) => void this.#parts.part(partition),
        revoked: (partitions) => this.#parts.revoked(partitions),
      },
    );
    const binding = (): JoinBinding<K> | undefined => this.#bindings.current;
    this.#results = new JoinResults<K, L, R>({
      name,
      logger: host.logger,
      table: this.table,
      codecs: this.#codecs,
      transport: () => host.transport(),
      binding,
      part: (partition) => this.#parts.get(partition),
      headers: (part) => this.#parts.headers(part),
    });
    this.#parts = new JoinPartitions<K>({
      name,
      logger: host.logger,
      table: this.table,
      type,
      within: this.within,
      graceMs: this.graceMs,
      idleAfterMs: this.idleAfterMs,
      results: this.#results,
      transport: () => host.transport(),
      binding,
    });
  }

  /** The changelog topic of the join's state. */
  get changelogTopic(): string {
    return this.table.changelogTopic;
  }

  /**
   * Counters of this join right now.
   *
   * @example
   * ```ts
   * console.log(paid.stats().pending);
   * ```
   */
  stats(): StreamJoinStats {
    const watermarks: Record<number, number> = {};
    let pending = 0;
    for (const part of this.#parts.values()) {
      if (Number.isFinite(part.watermark)) watermarks[part.partition] = part.watermark;
      pending += part.results.size;
    }
    return {
      name: this.name,
      watermarks,
      pending,
      lateDeadLettered: this.#lateDeadLettered,
      lateDropped: this.#lateDropped,
      ...this.#results.counts(),
    };
  }

  /** @internal The values of a result, decoded by their side's codec. */
  values(result: JoinPending<K>): { left: L | undefined; right: R | undefined } {
    return this.#results.values(result);
  }

  /** @internal A `windowJoin` subscription starts: results go to it, unless another one still runs. */
  bind(binding: JoinBinding<K>): void {
    this.#bindings.bind(binding);
  }

  /** @internal The subscription ended: results go to another one still running, or wait for the next. */
  unbind(binding: JoinBinding<K>): void {
    this.#bindings.unbind(binding);
  }

  /** @internal Counts a late record (dead-lettered or dropped). */
  countLate(): void {
    if (this.late === 'drop') this.#lateDropped++;
    else this.#lateDeadLettered++;
  }

  /**
   * @internal Buffers a record of the join topic at event time `t` under `key` and pends its matches,
   * in one change: `then` gets the table's outcome once the change is durable (its results are emitted
   * then), or `late` (nothing changed) when its join window closed already.
   */
  accept(
    message: Message<JoinSide<L, R>, unknown>,
    key: K,
    t: number,
    then: (outcome: JoinAcceptOutcome<K>) => void,
  ): void {
    const partition = this.table.agentScope === undefined ? 0 : message.partition;
    const part = this.#parts.part(partition);
    const keyId = part ? this.table.keyId(key) : '';
    if (part) {
      part.lastRecordAt = this.#parts.now();
      part.nextOffset = Math.max(part.nextOffset, message.offset + 1);
      if (
        !this.table.wasApplied(message as Message<unknown, unknown>) &&
        isLate(t, this.within, part.watermark)
      )
        return then({ kind: 'late', watermark: part.watermark });
    }
    const { side, value } = message.value;
    let carried = Number.NEGATIVE_INFINITY;
    this.table.apply(
      message as Message<unknown, unknown>,
      key,
      (current) =>
        addRecord(current, side, [t, recordId(message), this.#encode(side, value), 0], this.within),
      (outcome) => {
        if (outcome.kind === 'done' && !outcome.replayed && part && this.#parts.get(partition) === part) {
          part.durable = Math.max(part.durable, carried);
          this.#results.pend(part, key, keyId, outcome.value);
          this.#parts.closeDue(part);
        }
        then(outcome);
      },
      {
        staged: () => {
          // The change is made: stream time moves, and the record's expiry is noted.
          part!.observeSide(side, t, this.#parts.now());
          carried = part!.watermark;
          part!.schedule(expiryOf(t, this.within), keyId, key);
          this.#parts.arm(part!);
          return this.#parts.headers(part!);
        },
      },
    );
  }

  #encode(side: 'left' | 'right', value: L | R): string {
    const bytes =
      side === 'left' ? this.#codecs.left.encode(value as L) : this.#codecs.right.encode(value as R);
    return bytes.toString('base64');
  }
}

/** A record's id in the join's state: its origin (topic/partition/offset) across the copy agent's hop. */
function recordId(message: Message<unknown, unknown>): string {
  const h = message.headers;
  const topic = h[REPARTITION_HEADERS.topic];
  if (topic !== undefined && h[REPARTITION_HEADERS.via] === message.topic)
    return `${topic}/${h[REPARTITION_HEADERS.partition]}/${h[REPARTITION_HEADERS.offset]}`;
  return `${message.topic}/${message.partition}/${message.offset}`;
}
