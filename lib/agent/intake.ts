import { asyncScheduler } from 'rxjs';
import type { Topic } from '../topics/topic.js';
import type { RecordBatch } from '../transports/transport.js';
import { decodeRecord } from './decode-record.js';
import type { Ledger } from './ledger.js';
import type { Entry } from './partition-tracker.js';

/** What {@link Intake} needs from its agent. @internal */
export interface IntakeHost<T, K> {
  readonly topic: Topic<T, K>;
  readonly ledger: Ledger;
  running(): boolean;
  /** Hands an admitted record to the pipeline. */
  push(entry: Entry): void;
  /** A record could not be decoded. */
  failed(entry: Entry, error: unknown): void;
}

/**
 * The front door of an agent: takes the transport's batches, waits for room in the ledger (the
 * partitions are paused meanwhile), decodes each record, admits it and hands it to the pipeline. Returns
 * how many records of a batch it took; the rest are fetched again.
 * @internal
 */
export class Intake<T, K> {
  constructor(private readonly host: IntakeHost<T, K>) {}

  async onBatch(batch: RecordBatch): Promise<number> {
    const { ledger, topic } = this.host;
    if (ledger.isRevoked(batch)) return 0; // a stale batch of a partition taken away
    const ready = ledger.whenReady(batch);
    if (ready) {
      // a table of the pipeline is still restoring this partition (a failed restore fails the agent);
      // the partition may have been revoked, or given again, meanwhile
      const restored = await ready.then(
        () => true,
        () => false,
      );
      if (!restored || ledger.whenReady(batch) !== ready) return 0;
    }
    if (!this.host.running() || ledger.isRevoked(batch)) return 0;
    const tracker = ledger.tracker(batch);
    const records = batch.records;
    const now = asyncScheduler.now(); // the stall detector's clock
    for (let i = 0; i < records.length; i++) {
      if (!ledger.open) {
        await ledger.waitForRoom();
        if (!this.host.running() || tracker.revoked) return i;
      }
      const record = records[i]!;
      let decoded;
      try {
        decoded = decodeRecord(batch, record, topic.keyCodec, topic.valueCodec);
        if (decoded instanceof Promise) decoded = await decoded;
      } catch (error) {
        if (!this.host.running() || tracker.revoked) return i;
        this.host.failed(ledger.admit(tracker, record, now), error);
        continue;
      }
      if (!this.host.running() || tracker.revoked) return i;
      this.host.push(ledger.admit(tracker, record, now, decoded));
    }
    return records.length;
  }
}
