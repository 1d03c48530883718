import type { Codec } from '../codecs/codec.js';
import { ConfigurationError } from '../core/errors.js';
import type { Lineage } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import { Message } from '../core/message.js';
import type { Table } from '../tables/table.js';
import type { Transport } from '../transports/transport.js';
import { type OwnedResult, OwnedResults, type ResultBinding } from '../windows/owned-results.js';
import type { JoinPartition } from './join-clock.js';
import { JoinResultFailedError } from './join-errors.js';
import { type JoinState, type PendingJoin, removePending } from './join-state.js';

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

/** A partition of a stream join on this worker, its results pending by key and id. @internal */
export type PendingPartition<K> = JoinPartition<K, JoinPending<K>>;

/**
 * Headers a dead-lettered join result carries besides the usual ones: the join's name and the
 * result's id (the left and right records' origins).
 *
 * @example
 * ```ts
 * const join = record.headers[JOIN_DEAD_LETTER_HEADERS.join]; // 'order-payments'
 * ```
 */
export const JOIN_DEAD_LETTER_HEADERS = { join: 'rivulet-join', id: 'rivulet-join-result' } as const;

/** What {@link JoinResults} needs from its stream join. @internal */
export interface JoinResultsHost<K, L, R> {
  readonly name: string;
  readonly logger: Logger;
  readonly table: Table<K, JoinState>;
  readonly codecs: { readonly left: Codec<L>; readonly right: Codec<R> };
  transport(): Promise<Transport>;
  binding(): JoinBinding<K> | undefined;
  /** The partition owned here, if it is. */
  part(partition: number): PendingPartition<K> | undefined;
  /** The changelog headers of a change of the partition's state (watermark, sides' times). */
  headers(part: PendingPartition<K>): Record<string, string>;
}

/**
 * The results of a stream join: each pending result of a durable state handed downstream once per
 * owner (again after a hand-over, from the restored state), and removed from its key's state once it
 * settled or was dead-lettered.
 * @internal
 */
export class JoinResults<K, L, R> {
  readonly #owned: OwnedResults<JoinPending<K>, Message<JoinPending<K>, K>>;

  constructor(private readonly host: JoinResultsHost<K, L, R>) {
    const { name } = host;
    this.#owned = new OwnedResults<JoinPending<K>, Message<JoinPending<K>, K>>({
      table: name,
      noun: 'join result',
      logger: host.logger,
      transport: () => host.transport(),
      binding: () => host.binding(),
      owns: (result) =>
        host.part(result.partition)?.results.get(resultKey(result.keyId, result.id)) === result,
      remove: (result) => this.#remove(result),
      message: (topic, result, lineage: Lineage) =>
        new Message(topic, result.partition, -1, result.key, result, {}, result.t, lineage),
      where: (result) => ({ partition: result.partition, id: result.id }),
      deadLetter: (result) => ({
        key: host.table.keyCodec.encode(result.key),
        value: Buffer.from(JSON.stringify({ key: result.key, left: result.left, right: result.right })),
        headers: { [JOIN_DEAD_LETTER_HEADERS.join]: name, [JOIN_DEAD_LETTER_HEADERS.id]: result.id },
      }),
      failure: (result, cause) => new JoinResultFailedError(name, result.partition, result.id, cause),
    });
  }

  /** Emitted, settled and dead-lettered so far. */
  counts(): { emitted: number; settled: number; resultsDeadLettered: number } {
    return this.#owned.counts();
  }

  /** The subscription ended: retries and timers of results in flight are gone. */
  unbound(): void {
    this.#owned.unbound();
  }

  /** The partition's results not settled yet go to the binding now current. */
  emitAgain(part: PendingPartition<K>): void {
    for (const result of part.results.values()) if (!result.handled) this.#owned.emit(result);
  }

  /** The values of a result, decoded by their side's codec. */
  values(result: JoinPending<K>): { left: L | undefined; right: R | undefined } {
    const { codecs, name } = this.host;
    return {
      left: result.left === null ? undefined : decodeSync(codecs.left, result.left, name),
      right: result.right === null ? undefined : decodeSync(codecs.right, result.right, name),
    };
  }

  /** The pending results of a durable state not handed downstream yet: emitted now (or at the next binding). */
  pend(part: PendingPartition<K>, key: K, keyId: string, state: JoinState | undefined): void {
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
      this.#owned.emit(result);
    }
  }

  /** Removes a result that settled (or was dead-lettered) from its key's state. */
  #remove(result: JoinPending<K>): void {
    const { table } = this.host;
    const part = this.host.part(result.partition);
    const id = resultKey(result.keyId, result.id);
    if (!part || part.results.get(id) !== result) return; // the partition moved away meanwhile
    result.handled = true;
    let state: JoinState | undefined;
    try {
      state = table.get(result.key);
    } catch {
      part.results.delete(id);
      return;
    }
    table.put(part.partition, result.key, removePending(state, result.id), this.host.headers(part), () => {
      if (part.results.get(id) === result) part.results.delete(id);
    });
  }
}

/** A result's id in its partition: the key's bytes (their length first: any byte may occur) and the result's id. */
function resultKey(keyId: string, id: string): string {
  return `${keyId.length}:${keyId}${id}`;
}

function decodeSync<V>(codec: Codec<V>, base64: string, join: string): V {
  const value = codec.decode(Buffer.from(base64, 'base64'));
  if (value instanceof Promise)
    throw new ConfigurationError(
      `Stream join ${join}: codec ${codec.name} decodes asynchronously; a join needs a synchronous one`,
    );
  return value;
}
