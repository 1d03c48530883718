import { MemoryBroker, MemoryTransport, type ProducerRecord, type RecordMetadata } from '../../lib/index.js';

/** How a {@link ChaosTransport} misbehaves. */
export interface ChaosOptions {
  readonly batchSize: number;
  /** Each changelog produce waits this long (so crashes and rebalances find writes in flight). */
  readonly delayMs: number;
  /** The first changelog produces refused (a broker outage). */
  readonly refusals: number;
  /**
   * Once killed, produces vanish (resolve with no offset) instead of failing: a dead process waits for
   * nothing, so cleaning it up does not wait out a table's revoke timeout.
   */
  readonly vanishWhenDead?: boolean;
}

/**
 * A worker's link to a shared memory broker that can be killed like a process: its consumers die
 * without committing, and changelog writes it has not handed to the broker yet never arrive. Changelog
 * writes are delayed and sometimes refused. For the property tests of tables and windows.
 */
export class ChaosTransport extends MemoryTransport {
  #dead = false;
  #refusals: number;

  constructor(
    broker: MemoryBroker,
    private readonly chaos: ChaosOptions,
  ) {
    super(broker, { batchSize: chaos.batchSize });
    this.#refusals = chaos.refusals;
  }

  get dead(): boolean {
    return this.#dead;
  }

  override async produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.#dead && this.chaos.vanishWhenDead)
      return records.map(({ topic }) => ({ topic, partition: -1, offset: -1 }));
    if (records[0]?.topic.endsWith('-changelog')) {
      if (this.#refusals > 0) {
        this.#refusals--;
        throw new Error('broker not available (injected)');
      }
      if (this.chaos.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.chaos.delayMs));
    }
    if (this.#dead) throw new Error('the process is dead');
    return super.produce(records);
  }

  async kill(): Promise<void> {
    this.#dead = true;
    await this.crash();
  }
}
