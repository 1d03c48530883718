import { type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import { failMessage, settleClaimed } from '../core/ack.js';
import { eachLineage } from '../core/lineage.js';
import { LINEAGE, Message, USE } from '../core/message.js';
import { subscribingScope } from '../agent/partition-resources.js';
import { operateMessages } from '../core/operate-messages.js';
import type { KeyWindows } from './key-windows.js';
import { InvalidEventTimeError, LateRecordError } from './window-errors.js';
import type { WindowBinding } from './window-results.js';
import type { AcceptCallback, AcceptOutcome, WindowTable } from './window-table.js';
import type { WindowResult } from './window-types.js';

/**
 * Options of {@link aggregateWindows}.
 *
 * @example
 * ```ts
 * const options: AggregateWindowsOptions<Order, string, string> = { key: (m) => m.value.symbol, time: (m) => m.value.placedAt };
 * ```
 */
export interface AggregateWindowsOptions<T, MK, K> {
  /** The window key of a message (default: the message's key). Its partition must be the message's. */
  readonly key?: (message: Message<T, MK>) => K;
  /** The event time of a message, ms since the epoch (default: the record's timestamp). */
  readonly time?: (message: Message<T, MK>) => number;
  /**
   * Also emit a running update (`final: false`) for each window a record changed, as the change is
   * made, for dashboards (default false: records settle once their change is queued).
   */
  readonly updates?: boolean;
  /** Where time comes from (idle closing, retries): a `TestScheduler` in marble tests. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Aggregates messages into the windows of a {@link WindowTable} and emits each window's final result,
 * once, when it closes: `{ key, start, end, value, final: true }`, as a message of its own whose
 * window is deleted from the table only after the message settled (written by a sink, or filtered).
 * A crash before that emits it again after recovery, with the same value; nothing is lost.
 *
 * Each record's change goes to the table's changelog (exact under redelivery, like {@link updateTable}):
 * the record settles once its change is queued, and its offset is committed only once the broker
 * acknowledged the change (the record cache: changes wait up to the agent's commit interval, at most
 * 1 s, and a key changed several times meanwhile is written once). Windows close only by a watermark
 * the changelog holds. A record one of whose
 * windows has already closed is late: it goes to the agent's dead-letter topic with a
 * {@link LateRecordError} (or is counted and dropped with the table's `late: 'drop'`), and joins no
 * window. A final result that keeps failing follows the agent's error policy (retries; waiting out a
 * sink outage; then the dead-letter topic, as JSON). As with {@link updateTable}, the windowed table is
 * bound to the agent of the first message that reaches it, through any operator (one subscription per
 * group under `groupBy` → `mergeMap`: final results go out through one of them at a time).
 *
 * When windows close: when the partition's watermark (highest event time seen minus `graceMs`)
 * passes their end; and when the partition has caught up and received nothing for `idleAfterMs`, the
 * watermark follows the wall clock (event time moves on at the wall clock's pace from the highest event
 * time seen), so windows close on time with no new input. While a partition catches up on a backlog,
 * only its records move the watermark.
 *
 * Marble (tumbling 10 ms, grace 0, idle after 5 ms, event time = arrival frame): `a--b--------c`
 * in (at 0, 3, 12), the result of `[0, 10)` (2) at frame 10 (idle: no record since 3, event time
 * followed the clock), the result of `[10, 20)` (1) at frame 20.
 *
 * @example
 * ```ts
 * const perMinute = app.windowTable('orders-per-minute', { window: tumbling(60_000), aggregate: count(), graceMs: 5_000 });
 * app.agent('orders-per-minute', bySymbol, (order$) =>
 *   order$.pipe(
 *     aggregateWindows(perMinute, { time: (m) => m.value.placedAt }),
 *     toInflux(influx, ({ key, start, value }) => ({ measurement: 'orders', tags: { symbol: key }, fields: { count: value }, timestamp: start })),
 *   ),
 * );
 * ```
 */
export function aggregateWindows<T, MK, K, A>(
  table: WindowTable<K, T, A>,
  options: AggregateWindowsOptions<T, MK, K> = {},
): OperatorFunction<Message<T, MK>, Message<WindowResult<K, A>, K>> {
  const keyOf = options.key ?? ((message: Message<T, MK>) => message.key as unknown as K);
  const timeOf = options.time ?? ((message: Message<T, MK>) => message.timestamp);
  const scheduler = options.scheduler ?? asyncScheduler;
  const where = `aggregateWindows ${table.name}`;
  return operateMessages<T, MK, Message<WindowResult<K, A>, K>>(
    where,
    (subscriber, run) => {
      let pending = 0;
      // Subscribed with the agent's pipeline: bound now. Otherwise the first message binds it.
      const scope = subscribingScope();
      if (scope) table.table.bind(scope);
      const binding: WindowBinding<K, A> = {
        emit: (message) => {
          if (!subscriber.closed) subscriber.next(message);
        },
        scheduler,
        get scope() {
          return table.table.agentScope;
        },
      };
      table.bind(binding);
      /** What became of a record's change (`t`: its event time, needed for running updates only). */
      const outcomeOf = (
        outcome: AcceptOutcome<K, A>,
        entered: Message<unknown, unknown>,
        t: number,
      ): void => {
        const message = entered as Message<T, MK>;
        pending--;
        if (outcome.kind === 'late') {
          table.countLate();
          if (table.late === 'drop') settleClaimed(message, where);
          else
            failMessage(
              message,
              new LateRecordError(table.name, outcome.time, outcome.watermark, outcome.windowEnd),
            );
        } else if (outcome.kind === 'failed') failMessage(message, outcome.error);
        else if (outcome.kind === 'done') {
          if (options.updates && !subscriber.closed) emitUpdates(message, outcome.key, outcome.value, t);
          else settleClaimed(message, where);
        }
        // 'dropped': the partition moved away; the record is the new owner's.
        run.completeIfIdle();
      };
      /** One function for every record's outcome, unless running updates need the record's event time. */
      const accepted: AcceptCallback<K, A> = (outcome, entered) => outcomeOf(outcome, entered, Number.NaN);
      const acceptedAt =
        (t: number): AcceptCallback<K, A> =>
        (outcome, entered) =>
          outcomeOf(outcome, entered, t);
      /** Once the table let the message in (bound to its agent, its partition restored). */
      const acceptOne = (entered: Message<unknown, unknown>): void => {
        const message = entered as Message<T, MK>;
        let key: K;
        let t: number;
        try {
          key = keyOf(message);
          t = timeOf(message);
        } catch (error) {
          return rejected(message, error);
        }
        if (typeof t !== 'number' || !Number.isFinite(t))
          return rejected(message, new InvalidEventTimeError(table.name, t));
        t = Math.floor(t); // whole milliseconds
        table.accept(message, key, t, options.updates ? acceptedAt(t) : accepted);
      };
      const rejected = (message: Message<T, MK>, error: unknown): void => {
        pending--;
        failMessage(message, error);
        run.completeIfIdle();
      };
      /** The running values of the windows holding `t`: one message each, sharing the record. */
      const emitUpdates = (
        message: Message<T, MK>,
        key: K,
        state: KeyWindows<A, unknown>,
        t: number,
      ): void => {
        const windows = state.w.filter(([start, end]) => start <= t && t < end);
        if (windows.length === 0) return settleClaimed(message, where);
        const lineage = message[LINEAGE];
        eachLineage(lineage, (l) => {
          for (let i = 1; i < windows.length; i++) l.retain();
        });
        message[USE] = 'spent';
        for (const [start, end, value] of windows) {
          const result: WindowResult<K, A> = { key, start, end, value, final: false };
          run.emit(
            new Message(
              message.topic,
              message.partition,
              message.offset,
              key,
              result,
              message.headers,
              message.timestamp,
              lineage,
            ),
          );
        }
      };
      return {
        next(message) {
          pending++;
          const unbound = table.table.enter(message as Message<unknown, unknown>, acceptOne);
          if (unbound) {
            pending--;
            subscriber.error(unbound); // no agent to follow, or another's: the pipeline fails, naming the table
          }
        },
        busy: () => pending > 0,
        teardown: () => table.unbind(binding),
      };
    },
    { defers: true },
  );
}
