import type { ProducerRecord, RecordMetadata } from '../transports/transport.js';

interface Request {
  readonly records: readonly ProducerRecord[];
  resolve(metadata: RecordMetadata[]): void;
  reject(error: unknown): void;
}

/**
 * A table's produces to its changelog, one at a time: the produces asked for while one is under way
 * (each partition's writer asks for its own) go out together as the next one, in one request. Kafka's
 * idempotent producer sends one request at a time anyway; one request for every partition's batch
 * instead of one per partition costs the broker and the client a round trip per partition less.
 *
 * Each caller gets the metadata of its own records, or the error of the produce that carried them (it
 * retries on its own: a request is one record batch per partition, appended whole or not at all).
 * @internal
 */
export class ChangelogProducer {
  #queued: Request[] = [];
  #busy = false;

  constructor(private readonly send: (records: readonly ProducerRecord[]) => Promise<RecordMetadata[]>) {}

  produce(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.#queued.push({ records, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        setImmediate(() => this.#next()); // the other partitions' writers ask in the same turn
      }
    });
  }

  #next(): void {
    const requests = this.#queued;
    if (requests.length === 0) {
      this.#busy = false;
      return;
    }
    this.#queued = [];
    const records: ProducerRecord[] = [];
    for (const request of requests) for (const record of request.records) records.push(record);
    let sent: Promise<RecordMetadata[]>;
    try {
      sent = this.send(records);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent
      .then(
        (metadata) => {
          let at = 0;
          for (const request of requests) {
            const end = at + request.records.length;
            request.resolve(metadata.slice(at, end));
            at = end;
          }
        },
        (error: unknown) => {
          for (const request of requests) request.reject(error);
        },
      )
      // The callers' next batches are asked for as they hear back: gathered before the next produce.
      .finally(() => setImmediate(() => this.#next()));
  }
}
