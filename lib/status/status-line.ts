import { type SchedulerAction, type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import type { AgentStats } from '../agent/agent.js';
import { type PartitionLag, totalLag } from '../metrics/commit-lag.js';
import { LagCache } from '../metrics/lag-cache.js';
import type { MonitoredApp } from '../metrics/monitored-app.js';
import { type AgentStatus, formatStatus } from './format-status.js';
import { liveWriter } from './live-writer.js';
import { summary } from './summary.js';

/**
 * Options of {@link statusLine}.
 *
 * @example
 * ```ts
 * const status = statusLine(app, { intervalMs: 5000, write: (block) => process.stdout.write(block) });
 * ```
 */
export interface StatusLineOptions {
  /** Time between two refreshes, in ms (default 1000). */
  readonly intervalMs?: number;
  /** Where each block goes (default: {@link liveWriter} on stderr). */
  readonly write?: (block: string) => void;
  /** Scheduler of the refreshes and clock of the rates (default `asyncScheduler`; a virtual one in tests). */
  readonly scheduler?: SchedulerLike;
  /** Commit lag of a group on a topic (default: asked of the app's transport, cached for half an interval). */
  readonly lag?: (group: string, topic: string) => Promise<readonly PartitionLag[]>;
}

/**
 * A running status line, from {@link statusLine}.
 *
 * @example
 * ```ts
 * const status: StatusLine = statusLine(app);
 * await app.run();
 * status.stop();
 * process.stdout.write(status.summary());
 * ```
 */
export interface StatusLine {
  /** Stops refreshing and writing. Safe to call twice. */
  stop(): void;
  /** {@link summary} of the app since the status line started. */
  summary(): string;
}

/**
 * Prints, every `intervalMs`, one line per agent: messages settled per second over the interval, in
 * flight, committed offsets and commit lag. For `npm start` and demos; `rivulet worker` serves
 * `/metrics` instead.
 *
 * @example
 * ```ts
 * const status = statusLine(app, { intervalMs: 1000 });
 * await app.run();
 * status.stop();
 * process.stdout.write(status.summary());
 * ```
 */
export function statusLine(app: MonitoredApp, options: StatusLineOptions = {}): StatusLine {
  const intervalMs = options.intervalMs ?? 1000;
  const scheduler = options.scheduler ?? asyncScheduler;
  const write = options.write ?? liveWriter(process.stderr);
  const cache = new LagCache(() => app.transport(), { ttlMs: intervalMs / 2, now: () => scheduler.now() });
  const lag = options.lag ?? ((group: string, topic: string) => cache.get(group, topic));
  const started = scheduler.now();
  let previous = { at: started, settled: new Map<string, number>() };
  let rendering = false;
  let stopped = false;

  const lagOf = async (stats: AgentStats): Promise<number | undefined> => {
    if (stats.state !== 'running') return undefined;
    try {
      return totalLag(await lag(stats.group, stats.topic));
    } catch {
      return undefined;
    }
  };

  const refresh = (): void => {
    if (rendering) return; // the broker is slow: skip a beat, the next rate covers both
    const at = scheduler.now();
    const snapshot = app.agents.map((agent) => agent.stats());
    const seconds = Math.max(at - previous.at, 1) / 1000;
    const rates = snapshot.map((s) => Math.max(0, s.settled - (previous.settled.get(s.name) ?? 0)) / seconds);
    previous = { at, settled: new Map(snapshot.map((s) => [s.name, s.settled])) };
    rendering = true;
    void Promise.all(snapshot.map(lagOf)).then((lags) => {
      rendering = false;
      const rows: AgentStatus[] = snapshot.map((s, i) => ({
        name: s.name,
        state: s.state,
        rate: rates[i]!,
        inFlight: s.inFlight,
        partitions: s.partitions,
        lag: lags[i],
        held: s.held,
      }));
      if (!stopped) write(formatStatus(rows, app.sinkHealth?.() ?? [], Date.now()));
    });
  };

  const subscription: Subscription = scheduler.schedule(function (this: SchedulerAction<undefined>) {
    if (stopped) return;
    refresh();
    this.schedule(undefined, intervalMs);
  }, intervalMs);

  return {
    stop() {
      stopped = true;
      subscription.unsubscribe();
    },
    summary: () => summary(app, { elapsedMs: scheduler.now() - started }),
  };
}
