import { withDeadline } from '../core/deadline.js';
import type { GroupStats } from '../transports/group-membership.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  Transport,
  TransportConsumer,
} from '../transports/transport.js';
import type { Ledger } from './ledger.js';

/**
 * An agent's consumer in its group: joining (the consumer may deliver records before it is attached),
 * the consumer once joined (attached to the ledger, which commits through it), and leaving, within the
 * stop's deadline even when the stop came while joining.
 *
 * @example
 * ```ts
 * const consumer = new AgentConsumer(ledger);
 * await consumer.join(transport, { groupId, topics: [topic] }, handlers);
 * await consumer.joined(Date.now() + 30_000); // at a stop: what was delivered meanwhile gets committed
 * await consumer.leave();
 * ```
 * @internal
 */
export class AgentConsumer {
  #consumer: TransportConsumer | undefined;
  /** Joining the group; resolves once the consumer is attached to the ledger. */
  #joining: Promise<TransportConsumer> | undefined;

  constructor(private readonly ledger: Ledger) {}

  /** This worker's place in the group, once joined (when the transport tells it). */
  get membership(): GroupStats | undefined {
    return this.#consumer?.group?.();
  }

  /** Joins the group and attaches the consumer to the ledger. */
  async join(transport: Transport, options: ConsumerOptions, handlers: ConsumerHandlers): Promise<void> {
    this.#joining = transport.consume(options, handlers).then((consumer) => {
      this.#consumer = consumer;
      this.ledger.attach(consumer);
      return consumer;
    });
    await this.#joining;
  }

  /**
   * Stopped while joining: what was delivered meanwhile is committed once the consumer is there, so
   * this waits for it until `stopBy` (ms since the epoch); a consumer that joins later is stopped then.
   */
  async joined(stopBy: number): Promise<void> {
    if (!this.#joining || this.#consumer) return;
    const joining = this.#joining;
    const joined = joining.then(
      () => true,
      () => true,
    );
    if (!(await withDeadline(joined, Math.max(0, stopBy - Date.now()), false))) {
      void joining.then((consumer) => consumer.stop()).catch(() => undefined);
    }
  }

  /** Leaves the group (commits nothing: the ledger flushed before). */
  async leave(): Promise<void> {
    await this.#consumer?.stop();
  }
}
