import { type MonoTypeOperatorFunction, Observable, type Subscriber, share } from 'rxjs';
import { claimMessage, forkMessage, settleClaimed } from '../core/ack.js';
import type { Message } from '../core/message.js';

const WHERE = 'shareMessages';

/**
 * The subject behind {@link shareMessages}: like RxJS's `Subject`, it hands each value to every branch
 * subscribed at that moment, synchronously, in subscription order; but each branch gets a message of
 * its own for the record (a fork), so the record settles when every branch has settled its message.
 * With one branch the message passes as it is (nothing is allocated).
 */
class MessageFanOut<T, K> extends Observable<Message<T, K>> {
  /** Replaced, never changed in place: a `next` goes on with the branches it started with. */
  #branches: readonly Subscriber<Message<T, K>>[] = [];
  #ended: { readonly error: unknown } | 'complete' | undefined;

  constructor() {
    super((subscriber) => {
      if (this.#ended === 'complete') return subscriber.complete();
      if (this.#ended) return subscriber.error(this.#ended.error);
      this.#branches = [...this.#branches, subscriber];
      return () => {
        this.#branches = this.#branches.filter((branch) => branch !== subscriber);
      };
    });
  }

  next(input: Message<T, K>): void {
    const branches = this.#branches;
    if (branches.length === 1) return branches[0]!.next(input);
    // No branch: unreachable under share(), which unsubscribes its source when the last branch leaves.
    if (branches.length === 0) return;
    const message = claimMessage(input, WHERE, this);
    if (!message) return;
    // The original keeps the record open while the forks go out, so a branch that settles its fork
    // synchronously does not settle the record; a branch that left meanwhile gets none.
    for (const branch of branches) if (!branch.closed) branch.next(forkMessage(message, message.value));
    settleClaimed(message, WHERE);
  }

  error(error: unknown): void {
    this.#end({ error }).forEach((branch) => branch.error(error));
  }

  complete(): void {
    this.#end('complete').forEach((branch) => branch.complete());
  }

  #end(how: { readonly error: unknown } | 'complete'): readonly Subscriber<Message<T, K>>[] {
    const branches = this.#branches;
    this.#ended ??= how;
    this.#branches = [];
    return branches;
  }
}

/**
 * `share()` for messages: subscribes its source once and sends each message to every branch
 * subscribed at that moment, synchronously, in subscription order (as `share()` does, with its
 * reference counting and reset: when the last branch unsubscribes, the source is unsubscribed, and the
 * next subscription starts over). Each branch gets a message of its own for the record, so each may end
 * in its own sink: the record settles, and its offset commits, only when every branch has settled its
 * message (written by a sink, or dropped on purpose by `filterValue`). A branch that fails its message
 * sends the record to the error policy, once; a retry runs it through every branch again. A branch that
 * subscribes late sees only the messages shared from then on; a record shared before is settled by the
 * branches that received it. (A plain `share()` hands one message object to every branch: the second
 * branch to use it fails the record with `MessageReusedError`.)
 *
 * `a-b-|` in, `a-b-|` out to each branch; `a` settles when every branch has settled its `a`.
 *
 * @example
 * ```ts
 * app.agent('orders-out', orders, (order$) => {
 *   const shared$ = order$.pipe(shareMessages());
 *   return merge(shared$.pipe(toRedis(redis, zadd)), shared$.pipe(mapValue(toRow), toInflux(writeApi, point)));
 * });
 * ```
 */
export function shareMessages<T, K>(): MonoTypeOperatorFunction<Message<T, K>> {
  return share({ connector: () => new MessageFanOut<T, K>() });
}
