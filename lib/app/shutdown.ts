import { withDeadline } from '../core/deadline.js';
import type { Logger } from '../core/logger.js';

/** What {@link shutdown} stops. @internal */
export interface ShutdownPlan {
  readonly agents: readonly { stop(timeoutMs: number): Promise<void> }[];
  readonly connection: { abort(): void; close(): Promise<void> } | undefined;
  /** In the order they run. */
  readonly hooks: readonly (() => unknown)[];
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * An app's stop, all of it within `timeoutMs`: free a start still waiting for the broker, stop the agents
 * (writes under way finish, the rest waits for the next run; commit), close the connection, run the
 * `onStop` hooks. What is still running at the deadline is abandoned and logged, a hanging hook included.
 * @internal
 */
export async function shutdown(plan: ShutdownPlan): Promise<void> {
  const { timeoutMs, logger } = plan;
  const deadline = Date.now() + timeoutMs;
  plan.connection?.abort();
  await Promise.all(plan.agents.map((agent) => agent.stop(timeoutMs)));
  await by(Promise.resolve(plan.connection?.close()), deadline);
  for (const hook of plan.hooks) {
    const finished = await by(
      Promise.resolve()
        .then(hook)
        .catch((error: unknown) => logger.warn({ err: error }, 'an onStop hook failed')),
      deadline,
    );
    if (!finished) logger.warn({ timeoutMs }, 'an onStop hook did not finish by the shutdown deadline');
  }
}

/** Waits for `work` until `deadline` (ms since the epoch); false when the deadline came first. */
function by(work: Promise<unknown>, deadline: number): Promise<boolean> {
  return withDeadline(
    work.then(() => true),
    Math.max(0, deadline - Date.now()),
    false,
    { unref: true },
  );
}
