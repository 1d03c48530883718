import type { OperatorFunction } from 'rxjs';
import { failMessage, moveMessage } from '../core/ack.js';
import type { Message } from '../core/message.js';
import { subscribingScope } from '../agent/partition-resources.js';
import { operateMessages } from '../core/operate-messages.js';
import type { ApplyOptions, ApplyOutcome, Table } from './table.js';

/** updateTable's changes go through the record cache. */
const EARLY: ApplyOptions = { early: true };

/**
 * What {@link updateTable} emits for each message: the key, the key's new value, the message's value
 * that led to it, and whether the message was a redelivery of a record already applied (then `value`
 * is the table's current value and nothing was written).
 *
 * @example
 * ```ts
 * update$.pipe(filterValue((u: TableUpdate<string, number, Order>) => !u.replayed && u.value > 100));
 * ```
 */
export interface TableUpdate<K, V, T> {
  readonly key: K;
  readonly value: V;
  readonly input: T;
  readonly replayed: boolean;
}

/**
 * Options of {@link updateTable}.
 *
 * @example
 * ```ts
 * const options: UpdateTableOptions<Order, string, string> = { key: (m) => m.value.account };
 * ```
 */
export interface UpdateTableOptions<T, MK, K> {
  /** The table key of a message (default: the message's key). Its partition must be the message's. */
  readonly key?: (message: Message<T, MK>) => K;
}

/**
 * Updates a table with each message: `update(current, message)` returns the key's new value, which is
 * written to the table's changelog (partition = the message's partition). The message moves on at
 * once, as a {@link TableUpdate} with the same lineage; its record's offset is committed only once the
 * broker acknowledged the change (the agent keeps the offset until then, not the message, which leaves
 * `maxInFlight`), so the changelog is never behind the committed offset. As Kafka Streams' record
 * cache, the changes wait for up to the agent's commit interval (at most 1 s) and a key changed
 * several times meanwhile is written once. Later messages see earlier results at once.
 *
 * State is exact under at-least-once delivery: a record delivered again (after a crash, a rebalance, or
 * a retry after a failure downstream) is recognised and passes with `replayed: true` without changing
 * the table (once its change is durable, when that change is still in flight); a record whose `update`
 * threw leaves the table unchanged, goes to the error policy, and is applied when it is retried. Messages of a partition are applied in the order they arrive (keep the
 * operator before any reordering operator).
 *
 * The table is bound to the agent whose message reaches it first, through any operator (`groupBy` →
 * `mergeMap`, `switchMap`, `defer`, `expand`…); a table bound late restores the agent's partitions
 * before it applies that message. The pipeline fails with a {@link TableNotBoundError} for a message of
 * no agent, and a {@link TableBindingError} for a message of another agent.
 *
 * Failures (through the error policy): `update` or a codec throws; the key's partition is not the
 * message's ({@link RepartitionRequiredError}); a record below the committed offset, twice in one
 * attempt, or an aggregate ({@link TableUpdateOrderError}). A changelog write that fails is retried with
 * backoff (an outage, not bad input).
 *
 * Marble: `a-b-c` in, `a'-b'-c'` out at once; the offsets commit after the changelog's ack.
 *
 * @example
 * ```ts
 * const counts = app.table('counts', { value: json(z.number()), default: () => 0 });
 * app.agent('count', orders, (order$) =>
 *   order$.pipe(
 *     updateTable(counts, (n) => n + 1),
 *     filterValue(({ value }) => value % 100 === 0),
 *     mapValue(({ key, value }) => ({ key, value })),
 *     toTopic(milestones),
 *   ),
 * );
 * ```
 */
export function updateTable<T, MK, K, V, C extends V | undefined>(
  table: Table<K, V, C>,
  update: (current: C, message: Message<T, MK>) => V,
  options: UpdateTableOptions<T, MK, K> = {},
): OperatorFunction<Message<T, MK>, Message<TableUpdate<K, V, T>, MK>> {
  const keyOf = options.key ?? ((message: Message<T, MK>) => message.key as unknown as K);
  const where = `updateTable ${table.name}`;
  const apply = update as (current: C, message: Message<unknown, unknown>) => V;
  return operateMessages<T, MK, Message<TableUpdate<K, V, T>, MK>>(
    where,
    (subscriber, run) => {
      let pending = 0;
      // One function for every message's outcome: nothing is created per message but what moves on.
      const settle = (outcome: ApplyOutcome<K, V>, applied: Message<unknown, unknown>): void => {
        const message = applied as Message<T, MK>;
        pending--;
        if (outcome.kind === 'failed') failMessage(message, outcome.error);
        else if (outcome.kind === 'done' && !subscriber.closed)
          run.emit(
            moveMessage(message, {
              key: outcome.key,
              value: outcome.value,
              input: message.value,
              replayed: outcome.replayed,
            }),
          );
        run.completeIfIdle();
      };
      // Once the table let it in (bound to its agent, its partition restored): one function for all.
      const applyOne = (entered: Message<unknown, unknown>): void => {
        const message = entered as Message<T, MK>;
        let key: K;
        try {
          key = keyOf(message);
        } catch (error) {
          pending--;
          failMessage(message, error);
          run.completeIfIdle();
          return;
        }
        table.apply(entered, key, apply, settle, EARLY);
      };
      // Subscribed with the agent's pipeline: bound now. Otherwise the first message binds it.
      const scope = subscribingScope();
      if (scope) table.bind(scope);
      return {
        next(message) {
          pending++;
          const unbound = table.enter(message as Message<unknown, unknown>, applyOne);
          if (unbound) {
            pending--;
            subscriber.error(unbound); // no agent to follow, or another's: the pipeline fails, naming the table
          }
        },
        busy: () => pending > 0,
      };
    },
    { defers: true },
  );
}
