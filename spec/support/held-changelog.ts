import type { Transport } from '../../lib/index.js';
import { delegateTransport } from './delegate.js';

/** A transport whose produces to changelog topics wait, while holding, until {@link release}. */
export interface HeldChangelog {
  readonly transport: Transport;
  /** From now on, produces to changelog topics wait for {@link release}. */
  hold(): void;
  /** Lets the held produces (and every later one) through. */
  release(): void;
  /** Produces to changelog topics held so far. */
  waiting(): number;
}

/**
 * Forwards to `inner`; once {@link HeldChangelog.hold} was called (or from the start, `holding`),
 * produces to changelog topics wait until {@link HeldChangelog.release}.
 *
 * @example
 * ```ts
 * const held = heldChangelog(new MemoryTransport(broker), true);
 * const app = createApp({ id: 'volume', transport: held.transport });
 * // … a change is staged, its produce waits …
 * held.release();
 * ```
 */
export function heldChangelog(inner: Transport, holding = false): HeldChangelog {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = holding;
  let waiting = 0;
  const transport = delegateTransport(inner, {
    produce: async (records) => {
      if (held && records.some((r) => r.topic.endsWith('-changelog'))) {
        waiting++;
        await gate;
      }
      return inner.produce(records);
    },
  });
  return { transport, hold: () => (held = true), release, waiting: () => waiting };
}
