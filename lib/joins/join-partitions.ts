import type { Logger } from '../core/logger.js';
import type { Table } from '../tables/table.js';
import { eachKey } from '../tables/each-key.js';
import type { Transport } from '../transports/transport.js';
import { IdleCloser } from '../windows/idle-closer.js';
import { WATERMARK_HEADER, rewriteWatermark } from '../windows/watermark-header.js';
import { JoinPartition, SideIdler, type SideIdlerHost } from './join-clock.js';
import type { JoinBinding, JoinPending, JoinResults, PendingPartition } from './join-results.js';
import { type JoinState, type JoinType, expire, nextExpiry } from './join-state.js';

/** What {@link JoinPartitions} needs from its stream join. @internal */
export interface JoinPartitionsHost<K> {
  readonly name: string;
  readonly logger: Logger;
  readonly table: Table<K, JoinState>;
  readonly type: JoinType;
  readonly within: number;
  readonly graceMs: number;
  readonly idleAfterMs: number;
  readonly results: Pick<JoinResults<K, unknown, unknown>, 'pend' | 'emitAgain'>;
  transport(): Promise<Transport>;
  binding(): JoinBinding<K> | undefined;
}

/**
 * The partitions of a stream join owned on this worker: each one's stream time and watermark (set up
 * from the restored changelog), which keys have records expiring when, and closing by the wall clock
 * (an idle partition, an idle side). Expiry changes the state only up to the durable watermark.
 * @internal
 */
export class JoinPartitions<K> {
  readonly #parts = new Map<number, PendingPartition<K>>();
  readonly #idle: IdleCloser<PendingPartition<K>>;
  readonly #sides: SideIdler<PendingPartition<K>>;

  constructor(private readonly host: JoinPartitionsHost<K>) {
    const clock: Omit<SideIdlerHost<PendingPartition<K>>, 'writeWatermark' | 'closeDue'> = {
      name: host.name,
      logger: host.logger,
      idleAfterMs: host.idleAfterMs,
      binding: () => host.binding(),
      owns: (part) => this.#parts.get(part.partition) === part,
      transport: () => host.transport(),
    };
    const writeWatermark: SideIdlerHost<PendingPartition<K>>['writeWatermark'] = (part, watermark, then) =>
      rewriteWatermark(host.table, part, watermark, then, part.timesHeader());
    this.#idle = new IdleCloser<PendingPartition<K>>({
      ...clock,
      writeWatermark,
      closeDue: (part) => this.closeDue(part),
    });
    // A side turning idle may give the partition its first stream time: the idle closer looks then.
    this.#sides = new SideIdler<PendingPartition<K>>({
      ...clock,
      writeWatermark,
      closeDue: (part) => {
        this.closeDue(part);
        this.#idle.arm(part);
      },
    });
  }

  /** The partitions set up here. */
  values(): IterableIterator<PendingPartition<K>> {
    return this.#parts.values();
  }

  /** The partition, if it is set up here (owned and restored). */
  get(partition: number): PendingPartition<K> | undefined {
    return this.#parts.get(partition);
  }

  /** The partitions moved away. */
  revoked(partitions: readonly number[]): void {
    for (const partition of partitions) this.#parts.delete(partition);
  }

  /** The subscription ended: its timers are gone. */
  stop(): void {
    this.#idle.stop();
    this.#sides.stop();
  }

  /** Looks at the partition by the wall clock when something could close (idle partition, idle side). */
  arm(part: PendingPartition<K>): void {
    this.#idle.arm(part);
    this.#sides.arm(part);
  }

  /** A new binding: the partition's results not settled yet go to it again, and what is due expires. */
  serve(): void {
    for (const part of this.#parts.values()) {
      this.host.results.emitAgain(part);
      part.probing = false; // the last subscription's timers are gone
      this.closeDue(part);
      this.arm(part);
    }
  }

  /** The partition's state, set up (from the restored table) the first time it is ready. */
  part(partition: number): PendingPartition<K> | undefined {
    const { table } = this.host;
    if (!table.isReady(partition)) return undefined;
    let part = this.#parts.get(partition);
    if (part) return part;
    const now = this.now();
    part = new JoinPartition<K, JoinPending<K>>(partition, this.host.graceMs, now);
    const headers = table.restoredHeaders(partition);
    const restored = Number(headers?.[WATERMARK_HEADER]);
    if (Number.isFinite(restored)) part.restore(restored, now);
    part.restoreSides(headers, now);
    this.#parts.set(partition, part);
    eachKey(table, partition, (key, state) => {
      const keyId = table.keyId(key);
      this.schedule(part, key, keyId, state);
      this.host.results.pend(part, key, keyId, state); // emitted again by this owner
    });
    this.closeDue(part);
    this.#idle.arm(part);
    return part;
  }

  /** Notes when the key's first buffered record expires. */
  schedule(part: PendingPartition<K>, key: K, keyId: string, state: JoinState | undefined): void {
    const at = nextExpiry(state, this.host.within);
    if (at === undefined) return;
    part.schedule(at, keyId, key);
    this.#idle.arm(part);
  }

  /** Expires the records the durable watermark has passed; unmatched ones pend as results (left, outer). */
  closeDue(part: PendingPartition<K>): void {
    const { table, within, type, results } = this.host;
    if (!this.host.binding()) return; // expired when a subscription is back
    const upTo = part.durable;
    const due = part.takeDue(upTo);
    if (due === undefined) return; // nothing due
    for (const [keyId, key] of due) {
      let state: JoinState | undefined;
      try {
        state = table.get(key);
      } catch {
        return; // the partition is moving away
      }
      if (!state) continue;
      const next = expire(state, upTo, within, type);
      if (next === state) {
        this.schedule(part, key, keyId, state);
        continue;
      }
      table.put(part.partition, key, next, this.headers(part), (durable) => {
        if (!durable || this.#parts.get(part.partition) !== part) return;
        results.pend(part, key, keyId, next);
        this.schedule(part, key, keyId, next);
        // The key was out of the schedule while its change was in flight: what the durable watermark
        // passed meanwhile (a restored key's later records) expires now, not at a next record.
        if ((part.nextDue ?? Number.POSITIVE_INFINITY) <= part.durable) this.closeDue(part);
      });
    }
  }

  /** The changelog headers of a change of the partition's state: its watermark and sides' times. */
  headers(part: PendingPartition<K>): Record<string, string> {
    return { ...part.timesHeader(), [WATERMARK_HEADER]: String(part.watermark) };
  }

  /** The binding's clock (the scheduler's, under test), or the wall clock. */
  now(): number {
    return this.host.binding()?.scheduler.now() ?? Date.now();
  }
}
