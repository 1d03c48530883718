import { type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import { failMessage, moveMessage, settleClaimed } from '../core/ack.js';
import type { Message } from '../core/message.js';
import { operateMessages } from '../core/operate-messages.js';
import { subscribingScope } from '../agent/partition-resources.js';
import { InvalidEventTimeError } from '../windows/window-errors.js';
import { LateJoinRecordError } from './join-errors.js';
import type { JoinSide } from './join-side.js';
import type { JoinType } from './join-state.js';
import type { JoinBinding } from './join-results.js';
import type { StreamJoin } from './stream-join.js';

/**
 * The left value a joiner gets: always there, but for an unmatched right record of an outer join.
 *
 * @example
 * ```ts
 * const l: JoinLeft<Order, 'outer'> = undefined; // Order | undefined
 * ```
 */
export type JoinLeft<L, T extends JoinType> = T extends 'outer' ? L | undefined : L;

/**
 * The right value a joiner gets: always there in an inner join; `undefined` for an unmatched left
 * record of a left or outer join.
 *
 * @example
 * ```ts
 * const r: JoinRight<Payment, 'left'> = undefined; // Payment | undefined
 * ```
 */
export type JoinRight<R, T extends JoinType> = T extends 'inner' ? R : R | undefined;

/**
 * Options of {@link windowJoin}.
 *
 * @example
 * ```ts
 * const options: WindowJoinOptions = { scheduler: testScheduler };
 * ```
 */
export interface WindowJoinOptions {
  /** Where time comes from (idle expiry, retries): a `TestScheduler` in marble tests. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Runs a stream–stream join declared by {@link joinStreams}, in the agent that reads its `topic`: each
 * record of either side is buffered under its join key and matched with the other side's records
 * within the window, in one change of the join's changelogged state; the record settles once the
 * change is durable. Each match, and (left, outer) each unmatched record once it expires, leaves as a
 * message of its own, value `join(left, right, key)`, key the join key, timestamp the later event time;
 * it is removed from the state only once it settled downstream (written by a sink, or filtered). A
 * crash before that emits it again after recovery, with the same value: nothing is lost, nothing is
 * emitted twice but across such a hand-over. A result that keeps failing (a `join` that throws, a sink)
 * follows the agent's error policy (retries, waiting out a sink outage, then the dead-letter topic).
 * Late records go to the agent's dead-letter topic with a {@link LateJoinRecordError} (or are dropped
 * with `late: 'drop'`).
 *
 * Marble (`within` 5, grace 0, left join; event time = the record's timestamp): `a` = L@0, `b` = R@8,
 * `c` = R@4 in: `--x` out, `x` = `join(a, c)` at timestamp 4: stream time stays at 0 (the left side's
 * highest; b is the right side's), c is on time and meets a, which is kept until the watermark passes
 * 0 + 2 × 5 (no `join(a, undefined)` first).
 *
 * @example
 * ```ts
 * const paid = joinStreams(app, 'order-payments', orders, payments, { within: 600_000, type: 'left', rightKey: (m) => m.value.orderId });
 * app.agent('match', paid.topic, (side$) =>
 *   side$.pipe(
 *     windowJoin(paid, (order, payment) => ({ id: order.id, paidAt: payment?.at ?? null })),
 *     toTopic(out),
 *   ),
 * );
 * ```
 */
export function windowJoin<K, L, R, T extends JoinType, J>(
  join: StreamJoin<K, L, R, T>,
  joiner: (left: JoinLeft<L, T>, right: JoinRight<R, T>, key: K) => J,
  options: WindowJoinOptions = {},
): OperatorFunction<Message<JoinSide<L, R>, K | null>, Message<J, K>> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const where = `windowJoin ${join.name}`;
  return operateMessages<JoinSide<L, R>, K | null, Message<J, K>>(
    where,
    (subscriber, run) => {
      let pending = 0;
      // Subscribed with the agent's pipeline: bound now. Otherwise the first message binds it.
      const scope = subscribingScope();
      if (scope) join.table.bind(scope);
      const binding: JoinBinding<K> = {
        emit: (message) => {
          let joined: J;
          try {
            const { left, right } = join.values(message.value);
            joined = joiner(left as JoinLeft<L, T>, right as JoinRight<R, T>, message.key);
          } catch (error) {
            return failMessage(message, error);
          }
          if (!subscriber.closed) subscriber.next(moveMessage(message, joined));
        },
        scheduler,
        get scope() {
          return join.table.agentScope;
        },
      };
      join.bind(binding);
      const done = (): void => {
        pending--;
        run.completeIfIdle();
      };
      const acceptOne = (entered: Message<unknown, unknown>): void => {
        const message = entered as Message<JoinSide<L, R>, K | null>;
        const t = message.timestamp;
        if (message.key === null) {
          settleClaimed(message, where); // a null join key joins nothing
          return done();
        }
        if (typeof t !== 'number' || !Number.isFinite(t)) {
          failMessage(message, new InvalidEventTimeError(join.name, t));
          return done();
        }
        join.accept(message, message.key, t, (outcome) => {
          if (outcome.kind === 'late') {
            join.countLate();
            if (join.late === 'drop') settleClaimed(message, where);
            else failMessage(message, new LateJoinRecordError(join.name, t, outcome.watermark));
          } else if (outcome.kind === 'failed') failMessage(message, outcome.error);
          else if (outcome.kind === 'done') settleClaimed(message, where);
          // 'dropped': the partition moved away; the record is the new owner's.
          done();
        });
      };
      return {
        next(message) {
          pending++;
          const unbound = join.table.enter(message as Message<unknown, unknown>, acceptOne);
          if (unbound) {
            pending--;
            subscriber.error(unbound); // no agent to follow, or another's: the pipeline fails, naming the join
          }
        },
        busy: () => pending > 0,
        teardown: () => join.unbind(binding),
      };
    },
    { defers: true },
  );
}
