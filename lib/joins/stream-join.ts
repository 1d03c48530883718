import type { Codec } from '../codecs/codec.js';
import { ConfigurationError } from '../core/errors.js';
import type { Lineage } from '../core/lineage.js';
import { Message } from '../core/message.js';
import { REPARTITION_HEADERS } from '../core/repartition-headers.js';
import { json } from '../codecs/json.js';
import type { Topic } from '../topics/topic.js';
import { type ApplyOutcome, Table, type TableHost } from '../tables/table.js';
import type { TableStore } from '../tables/stores/table-store.js';
import { IdleCloser } from '../windows/idle-closer.js';
import { type OwnedResult, OwnedResults, type ResultBinding } from '../windows/owned-results.js';
import { WATERMARK_HEADER, rewriteWatermark } from '../windows/window-table.js';
import { ResultBindings } from '../windows/result-bindings.js';
import { JoinResultFailedError } from './join-errors.js';
import { JoinPartition as SidePartition, SideIdler, type SideIdlerHost } from './join-clock.js';
import type { JoinSide } from './join-side.js';
import {
  type JoinState,
  type JoinType,
  type PendingJoin,
  addRecord,
  expire,
  expiryOf,
  isLate,
  nextExpiry,
  removePending,
} from './join-state.js';

/** A join result kept until it settles downstream. @internal */
export interface JoinPending<K> extends OwnedResult {
  readonly key: K;
  readonly keyId: string;
  readonly id: string;
  readonly t: number;
  /** The left and right values as stored (base64 of their codec's bytes; null: none). */
  readonly left: string | null;
  readonly right: string | null;
}

/** What a `windowJoin` subscription gives its join while it runs. @internal */
export type JoinBinding<K> = ResultBinding<Message<JoinPending<K>, K>>;

type JoinPartition<K> = SidePartition<K, JoinPending<K>>;

/** What {@link StreamJoin.accept} reports for a record. @internal */
export type JoinAcceptOutcome<K> =
  ApplyOutcome<K, JoinState> | { readonly kind: 'late'; readonly watermark: number };

/** Headers a dead-lettered join result carries besides the usual ones. */
export const JOIN_DEAD_LETTER_HEADERS = { join: 'rivulet-join', id: 'rivulet-join-result' } as const;

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
  readonly #parts = new Map<number, JoinPartition<K>>();
  readonly #results: OwnedResults<JoinPending<K>, Message<JoinPending<K>, K>>;
  readonly #bindings = new ResultBindings<JoinBinding<K>>({
    serve: () => this.#serve(),
    unserved: () => {
      this.#idle.stop();
      this.#sides.stop();
      this.#results.unbound();
    },
  });
  readonly #idle: IdleCloser<JoinPartition<K>>;
  readonly #sides: SideIdler<JoinPartition<K>>;
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
        ready: (partition) => void this.#part(partition),
        revoked: (partitions) => {
          for (const partition of partitions) this.#parts.delete(partition);
        },
      },
    );
    this.#results = new OwnedResults<JoinPending<K>, Message<JoinPending<K>, K>>({
      table: name,
      noun: 'join result',
      logger: host.logger,
      transport: () => host.transport(),
      binding: () => this.#bindings.current,
      owns: (result) =>
        this.#parts.get(result.partition)?.results.get(resultKey(result.keyId, result.id)) === result,
      remove: (result) => this.#remove(result),
      message: (topic, result, lineage: Lineage) =>
        new Message(topic, result.partition, -1, result.key, result, {}, result.t, lineage),
      where: (result) => ({ partition: result.partition, id: result.id }),
      deadLetter: (result) => ({
        key: this.table.keyCodec.encode(result.key),
        value: Buffer.from(JSON.stringify({ key: result.key, left: result.left, right: result.right })),
        headers: { [JOIN_DEAD_LETTER_HEADERS.join]: name, [JOIN_DEAD_LETTER_HEADERS.id]: result.id },
      }),
      failure: (result, cause) => new JoinResultFailedError(name, result.partition, result.id, cause),
    });
    const clock: SideIdlerHost<JoinPartition<K>> = {
      name,
      logger: host.logger,
      idleAfterMs: this.idleAfterMs,
      binding: () => this.#bindings.current,
      owns: (part) => this.#parts.get(part.partition) === part,
      transport: () => host.transport(),
    };
    this.#idle = new IdleCloser<JoinPartition<K>>({
      ...clock,
      writeWatermark: (part, watermark, then) =>
        rewriteWatermark(this.table, part, watermark, then, part.timesHeader()),
      closeDue: (part) => this.#closeDue(part),
    });
    this.#sides = new SideIdler<JoinPartition<K>>(clock);
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
    for (const [partition, part] of this.#parts) {
      if (Number.isFinite(part.watermark)) watermarks[partition] = part.watermark;
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
    return {
      left: result.left === null ? undefined : decodeSync(this.#codecs.left, result.left, this.name),
      right: result.right === null ? undefined : decodeSync(this.#codecs.right, result.right, this.name),
    };
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
    const part = this.#part(partition);
    const keyId = part ? this.table.keyId(key) : '';
    if (part) {
      part.lastRecordAt = this.#now();
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
          this.#pend(part, key, keyId, outcome.value);
          this.#closeDue(part);
        }
        then(outcome);
      },
      () => {
        // The change is made: stream time moves, and the record's expiry is noted.
        part!.observeSide(side, t, this.#now());
        carried = part!.watermark;
        part!.schedule(expiryOf(t, this.within), keyId, key);
        this.#idle.arm(part!);
        this.#sides.arm(part!);
        return this.#headers(part!);
      },
    );
  }

  #encode(side: 'left' | 'right', value: L | R): string {
    const bytes =
      side === 'left' ? this.#codecs.left.encode(value as L) : this.#codecs.right.encode(value as R);
    return bytes.toString('base64');
  }

  /** Results go to the binding now current: those not settled yet again, and records due expire. */
  #serve(): void {
    for (const part of this.#parts.values()) {
      for (const result of part.results.values()) if (!result.handled) this.#results.emit(result);
      part.probing = false; // the last subscription's timers are gone
      this.#closeDue(part);
      this.#idle.arm(part);
      this.#sides.arm(part);
    }
  }

  /** The partition's state, set up (from the restored table) the first time it is ready. */
  #part(partition: number): JoinPartition<K> | undefined {
    if (!this.table.isReady(partition)) return undefined;
    let part = this.#parts.get(partition);
    if (part) return part;
    part = new SidePartition<K, JoinPending<K>>(partition, this.graceMs, this.#now());
    const headers = this.table.restoredHeaders(partition);
    const restored = Number(headers?.[WATERMARK_HEADER]);
    if (Number.isFinite(restored)) part.restore(restored, this.#now());
    part.restoreSides(headers, this.#now());
    this.#parts.set(partition, part);
    let page = this.table.keys(partition, { limit: 1000 });
    for (;;) {
      for (const key of page.keys) {
        const state = this.table.get(key);
        const keyId = this.table.keyId(key);
        this.#schedule(part, key, keyId, state);
        this.#pend(part, key, keyId, state);
      }
      if (page.next === undefined) break;
      page = this.table.keys(partition, { after: page.next, limit: 1000 });
    }
    this.#closeDue(part);
    this.#idle.arm(part);
    return part;
  }

  /** Notes when the key's first buffered record expires. */
  #schedule(part: JoinPartition<K>, key: K, keyId: string, state: JoinState | undefined): void {
    const at = nextExpiry(state, this.within);
    if (at === undefined) return;
    part.schedule(at, keyId, key);
    this.#idle.arm(part);
  }

  /** The pending results of a durable state not handed downstream yet: emitted now (or at the next binding). */
  #pend(part: JoinPartition<K>, key: K, keyId: string, state: JoinState | undefined): void {
    for (const [id, t, left, right] of state?.p ?? ([] as PendingJoin[])) {
      if (part.results.has(resultKey(keyId, id))) continue;
      const result: JoinPending<K> = {
        partition: part.partition,
        key,
        keyId,
        id,
        t,
        left,
        right,
        attempts: 0,
        firstFailedAt: undefined,
        handled: false,
        lineage: undefined,
      };
      part.results.set(resultKey(keyId, id), result);
      this.#results.emit(result);
    }
  }

  /** Expires the records the durable watermark has passed; unmatched ones pend as results (left, outer). */
  #closeDue(part: JoinPartition<K>): void {
    if (!this.#bindings.current) return; // expired when a subscription is back
    const upTo = part.durable;
    for (const [keyId, key] of part.takeDue(upTo)) {
      let state: JoinState | undefined;
      try {
        state = this.table.get(key);
      } catch {
        return; // the partition is moving away
      }
      if (!state) continue;
      const next = expire(state, upTo, this.within, this.type);
      if (next === state) {
        this.#schedule(part, key, keyId, state);
        continue;
      }
      this.table.put(part.partition, key, next, this.#headers(part), (durable) => {
        if (!durable || this.#parts.get(part.partition) !== part) return;
        this.#pend(part, key, keyId, next);
        this.#schedule(part, key, keyId, next);
      });
    }
  }

  /** Removes a result that settled (or was dead-lettered) from its key's state. */
  #remove(result: JoinPending<K>): void {
    const part = this.#parts.get(result.partition);
    const id = resultKey(result.keyId, result.id);
    if (!part || part.results.get(id) !== result) return; // the partition moved away meanwhile
    result.handled = true;
    let state: JoinState | undefined;
    try {
      state = this.table.get(result.key);
    } catch {
      part.results.delete(id);
      return;
    }
    this.table.put(part.partition, result.key, removePending(state, result.id), this.#headers(part), () => {
      if (part.results.get(id) === result) part.results.delete(id);
    });
  }

  #headers(part: JoinPartition<K>): Record<string, string> {
    return { ...part.timesHeader(), [WATERMARK_HEADER]: String(part.watermark) };
  }

  #now(): number {
    return this.#bindings.current?.scheduler.now() ?? Date.now();
  }
}

/** A result's id in its partition: the key's bytes (their length first: any byte may occur) and the result's id. */
function resultKey(keyId: string, id: string): string {
  return `${keyId.length}:${keyId}${id}`;
}

/** A record's id in the join's state: its origin (topic/partition/offset) across the copy agent's hop. */
function recordId(message: Message<unknown, unknown>): string {
  const h = message.headers;
  const topic = h[REPARTITION_HEADERS.topic];
  if (topic !== undefined && h[REPARTITION_HEADERS.via] === message.topic)
    return `${topic}/${h[REPARTITION_HEADERS.partition]}/${h[REPARTITION_HEADERS.offset]}`;
  return `${message.topic}/${message.partition}/${message.offset}`;
}

function decodeSync<V>(codec: Codec<V>, base64: string, join: string): V {
  const value = codec.decode(Buffer.from(base64, 'base64'));
  if (value instanceof Promise)
    throw new ConfigurationError(
      `Stream join ${join}: codec ${codec.name} decodes asynchronously; a join needs a synchronous one`,
    );
  return value;
}
