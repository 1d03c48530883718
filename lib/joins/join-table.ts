import type { OperatorFunction } from 'rxjs';
import { failMessage, moveMessage, settleClaimed } from '../core/ack.js';
import { operateMessages } from '../core/operate-messages.js';
import type { Message } from '../core/message.js';
import { GlobalTable } from '../tables/global-table.js';
import { Table } from '../tables/table.js';
import { RepartitionRequiredError } from '../tables/table-errors.js';

/**
 * Options of {@link joinTable}.
 *
 * @example
 * ```ts
 * const options: JoinTableOptions<Order, string, string> = { key: (m) => m.value.customer, type: 'left' };
 * ```
 */
export interface JoinTableOptions<T, MK, K> {
  /** The table key of a message (default: the message's key). */
  readonly key?: (message: Message<T, MK>) => K;
  /**
   * `inner` (default): a message whose key has no row settles on purpose and goes no further.
   * `left`: it goes on, and `join` gets `undefined` as its row.
   */
  readonly type?: 'inner' | 'left';
}

/**
 * Enriches each message with the current row of a table (Kafka Streams' stream–table join): the
 * message's value becomes `join(value, row, message)`, and the message keeps its lineage (one message
 * in, the same record's message out), key, headers and position. The row is the table's value at the
 * moment the message passes; later changes of the table do not emit anything.
 *
 * - A {@link GlobalTable} is read by any key, on any worker.
 * - A co-partitioned {@link Table} is read for keys of the message's own partition only: a key of
 *   another partition fails the record with {@link RepartitionRequiredError} (re-key the stream first
 *   with `repartition`). The table answers on the worker that owns the partition, so join in the agent
 *   that updates the table (or one whose topic is consumed with the same assignment). A table with a
 *   `default` has a row for every key.
 *
 * Semantics: `inner` (default) settles a message without a row on purpose (as `filterValue` does);
 * `left` passes it on with `undefined` as its row. A `key` or `join` that throws, or a table that cannot
 * answer (a partition still restoring, not owned here, a global table not ready), fails that record
 * through the agent's error policy; the stream goes on.
 *
 * Marble (customers: `c1` only; inner): `-a(c1)-b(c2)-c(c1)|` → `-a'------c'|`, `b` settled at once;
 * with `type: 'left'`: `-a'-b'-c'|`, `b'` made with an `undefined` row.
 *
 * @example
 * ```ts
 * const customers = app.globalTable('customers', { value: json(Customer) });
 * app.agent('enrich', orders, (order$) =>
 *   order$.pipe(
 *     joinTable(customers, (order, customer) => ({ ...order, region: customer.region }), {
 *       key: (m) => m.value.customer,
 *     }),
 *     toTopic(enriched),
 *   ),
 * );
 * ```
 */
export function joinTable<T, MK, K, V, U>(
  table: GlobalTable<K, V>,
  join: (value: T, row: V | undefined, message: Message<T, MK>) => U,
  options: JoinTableOptions<T, MK, K> & { readonly type: 'left' },
): OperatorFunction<Message<T, MK>, Message<U, MK>>;
export function joinTable<T, MK, K, V, U>(
  table: GlobalTable<K, V>,
  join: (value: T, row: V, message: Message<T, MK>) => U,
  options?: JoinTableOptions<T, MK, K> & { readonly type?: 'inner' },
): OperatorFunction<Message<T, MK>, Message<U, MK>>;
export function joinTable<T, MK, K, V, C extends V | undefined, U>(
  table: Table<K, V, C>,
  join: (value: T, row: C | undefined, message: Message<T, MK>) => U,
  options: JoinTableOptions<T, MK, K> & { readonly type: 'left' },
): OperatorFunction<Message<T, MK>, Message<U, MK>>;
export function joinTable<T, MK, K, V, C extends V | undefined, U>(
  table: Table<K, V, C>,
  join: (value: T, row: Exclude<C, undefined>, message: Message<T, MK>) => U,
  options?: JoinTableOptions<T, MK, K> & { readonly type?: 'inner' },
): OperatorFunction<Message<T, MK>, Message<U, MK>>;
export function joinTable<T, MK, K, V, U>(
  table: GlobalTable<K, V> | Table<K, V, V | undefined>,
  join: (value: T, row: V, message: Message<T, MK>) => U,
  options: JoinTableOptions<T, MK, K> = {},
): OperatorFunction<Message<T, MK>, Message<U, MK>> {
  const keyOf = options.key ?? ((message: Message<T, MK>) => message.key as unknown as K);
  const left = options.type === 'left';
  const where = `joinTable ${table.name}`;
  const rowOf = (message: Message<T, MK>): V | undefined => {
    const key = keyOf(message);
    if (table instanceof GlobalTable) return table.get(key);
    const partition = table.partitionOf(key);
    if (partition !== undefined && partition !== message.partition)
      throw new RepartitionRequiredError(table.name, message.partition, partition);
    return table.get(key);
  };
  return operateMessages<T, MK, Message<U, MK>>(where, (subscriber) => ({
    next(message) {
      let row: V | undefined;
      try {
        row = rowOf(message);
      } catch (error) {
        failMessage(message, error);
        return;
      }
      if (row === undefined && !left) return settleClaimed(message, where); // inner: no row, on purpose
      let value: U;
      try {
        value = join(message.value, row as V, message);
      } catch (error) {
        failMessage(message, error);
        return;
      }
      subscriber.next(moveMessage(message, value));
    },
  }));
}
