import type { App } from '../app/app.js';
import type { Transport } from '../transports/transport.js';

/**
 * Thrown by {@link waitFor} when the condition did not hold in time.
 *
 * @example
 * ```ts
 * await waitFor(() => done, { timeoutMs: 100 }).catch((error) => error instanceof WaitTimeoutError);
 * ```
 */
export class WaitTimeoutError extends Error {
  constructor(description: string, timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `condition` until it returns true (or a promise of true), for asynchronous tests.
 *
 * @example
 * ```ts
 * await waitFor(() => written.length === 100, { timeoutMs: 5000, description: '100 writes' });
 * ```
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: {
    readonly timeoutMs?: number;
    readonly intervalMs?: number;
    readonly description?: string;
    /** Stops waiting: the promise rejects with the signal's reason. */
    readonly signal?: AbortSignal;
  } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await condition()) return;
    if (Date.now() > deadline) throw new WaitTimeoutError(options.description ?? 'a condition', timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}

/**
 * Whether a consumer group has committed every partition of a topic up to its end offset.
 *
 * @example
 * ```ts
 * await waitFor(() => committedToEnd(transport, 'orders.confirm', 'orders'));
 * ```
 */
export async function committedToEnd(transport: Transport, group: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([
    transport.endOffsets(topic),
    transport.committedOffsets(group, topic),
  ]);
  return ends.every(
    (end) =>
      end.offset === 0 || (committed.find((c) => c.partition === end.partition)?.offset ?? -1) >= end.offset,
  );
}

/**
 * Resolves when every agent of the app has committed up to the end of its topic: all that was produced
 * so far is processed and settled.
 *
 * @example
 * ```ts
 * await orders.sendMany(batch);
 * await waitForCommitted(app);
 * ```
 */
export async function waitForCommitted(
  app: App,
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<void> {
  const transport = await app.transport();
  await waitFor(
    async () => {
      for (const agent of app.agents)
        if (!(await committedToEnd(transport, agent.group, agent.topic.name))) return false;
      return true;
    },
    {
      timeoutMs: options.timeoutMs ?? 30_000,
      intervalMs: 20,
      description: 'every agent to commit to the end',
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}
