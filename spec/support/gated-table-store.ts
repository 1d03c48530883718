import { MemoryTableStore, type StoreChange } from '../../lib/index.js';

/**
 * A memory table store whose changelog replay waits until {@link GatedTableStore.release}: its
 * partitions stay `recovering` (with `toRead` known) for as long as a test needs.
 *
 * @example
 * ```ts
 * const store = new GatedTableStore();
 * const counts = app.table('counts', { store: () => store });
 * // … assert on the recovering state …
 * store.release();
 * ```
 */
export class GatedTableStore extends MemoryTableStore {
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));

  /** Lets the replay through (now and from then on). */
  release(): void {
    this.#open();
  }

  override async apply(partition: number, changes: readonly StoreChange[], offset: number): Promise<void> {
    await this.#gate;
    return super.apply(partition, changes, offset);
  }
}
