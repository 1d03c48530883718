import type { AgentStats } from '../agent/agent.js';

/**
 * Options of {@link summary}.
 *
 * @example
 * ```ts
 * process.stdout.write(summary(app, { elapsedMs: Date.now() - started }));
 * ```
 */
export interface SummaryOptions {
  /** How long the app ran, in ms: adds the average msg/s. */
  readonly elapsedMs?: number;
}

/**
 * A few lines on what each agent of an app did, for the end of a run: received, settled, retried,
 * dead-lettered, still in flight, its state, and the average rate when `elapsedMs` is given.
 *
 * @example
 * ```ts
 * await app.run();
 * process.stdout.write(summary(app, { elapsedMs: Date.now() - started }));
 * ```
 */
export function summary(
  app: { readonly agents: readonly { stats(): AgentStats }[] },
  options: SummaryOptions = {},
): string {
  const elapsedMs = options.elapsedMs;
  return app.agents
    .map((agent) => {
      const s = agent.stats();
      const rate =
        elapsedMs !== undefined && elapsedMs > 0
          ? `, ${((s.settled * 1000) / elapsedMs).toFixed(1)} msg/s on average`
          : '';
      return (
        `${s.name} (${s.topic}): received ${s.received}, settled ${s.settled}, retried ${s.retried}, ` +
        `dead-lettered ${s.deadLettered}, in flight ${s.inFlight}, ${s.state}${rate}\n`
      );
    })
    .join('');
}
