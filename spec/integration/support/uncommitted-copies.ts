import type { AgentStats } from '../../../lib/index.js';

/**
 * In a worker fixture: calls `report(m)` once per commit of `agents` (all together) after which they
 * hold m ≥ `from` records acknowledged and not committed, early in the commit interval (within its
 * first half): a SIGKILL then leaves them to be read (copied) again, the next commit being most of
 * `commitIntervalMs` away. Returns the stop function.
 *
 * @example
 * ```ts
 * const stop = reportUncommitted([copier], 1000, 5, (m) => console.log(`uncommitted ${m}`));
 * ```
 */
export function reportUncommitted(
  agents: readonly { stats(): AgentStats }[],
  commitIntervalMs: number,
  from: number,
  report: (uncommitted: number) => void,
): () => void {
  let lastCommitted = -1;
  let committedAt = 0;
  let reported = -1;
  const timer = setInterval(() => {
    const partitions = agents.flatMap((agent) => agent.stats().partitions);
    const committed = partitions.reduce((sum, p) => sum + Math.max(p.committed, 0), 0);
    if (committed !== lastCommitted) [lastCommitted, committedAt] = [committed, Date.now()];
    const pending = partitions.reduce(
      (sum, p) => sum + (p.committed >= 0 ? Math.max((p.committable ?? 0) - p.committed, 0) : 0),
      0,
    );
    if (pending >= from && committedAt !== reported && Date.now() - committedAt < commitIntervalMs / 2) {
      reported = committedAt;
      report(pending);
    }
  }, 5);
  return () => clearInterval(timer);
}
