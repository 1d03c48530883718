import { EMPTY, type SchedulerLike, type Subscription, catchError, exhaustMap, from, interval } from 'rxjs';
import type { Transport } from '../transports/transport.js';

/** This worker's copy of one partition of a global table's topic. */
interface Copy {
  /** The offset of the next record to apply (every record below it is applied). */
  position: number;
  /** The end offset last fetched. */
  end: number;
}

/**
 * Where this worker's copy of each partition of a global table's topic is: the position (every record
 * below it applied), the end offset last fetched, and the lag between them, kept fresh by
 * {@link CopyPositions.followEnds}. The restore places each partition; the tail moves it on.
 *
 * @example
 * ```ts
 * const positions = new CopyPositions();
 * positions.restored(0, 42);
 * positions.applied(0, 50);
 * positions.of(0); // { position: 50, end: 50, lag: 0 }
 * ```
 * @internal
 */
export class CopyPositions {
  readonly #copies = new Map<number, Copy>();

  /** Whether the topic has `partition` (known once restored). */
  has(partition: number): boolean {
    return this.#copies.has(partition);
  }

  /** The partitions held, ascending (empty before the restore). */
  partitions(): number[] {
    return [...this.#copies.keys()].sort((a, b) => a - b);
  }

  /** Where `partition` is, or undefined for a partition not held. */
  position(partition: number): number | undefined {
    return this.#copies.get(partition)?.position;
  }

  /** The position, the end last fetched and the lag of a partition held. */
  of(partition: number): { readonly position: number; readonly end: number; readonly lag: number } {
    const { position, end } = this.#copies.get(partition)!;
    return { position, end, lag: Math.max(0, end - position) };
  }

  /** The restore read `partition` up to `position` (which is the end it saw). */
  restored(partition: number, position: number): void {
    this.#copies.set(partition, { position, end: position });
  }

  /** The tail applied `partition` up to `next`. */
  applied(partition: number, next: number): void {
    const copy = this.#copies.get(partition)!;
    copy.position = next;
    copy.end = Math.max(copy.end, next);
  }

  /**
   * Fetches the topic's end offsets every `refreshMs` (one fetch at a time; a failed one is skipped), so
   * the lag shows how far behind each copy is. Unsubscribe to stop.
   */
  followEnds(transport: Transport, topic: string, refreshMs: number, scheduler: SchedulerLike): Subscription {
    return interval(refreshMs, scheduler)
      .pipe(exhaustMap(() => from(this.#refreshEnds(transport, topic)).pipe(catchError(() => EMPTY))))
      .subscribe();
  }

  async #refreshEnds(transport: Transport, topic: string): Promise<void> {
    for (const { partition, offset } of await transport.endOffsets(topic)) {
      const copy = this.#copies.get(partition);
      if (copy) copy.end = Math.max(copy.position, offset);
    }
  }
}
