import type { AgentStats } from '../../agent/agent.js';
import { type PartitionLag, totalLag } from '../../metrics/commit-lag.js';
import type { SinkHealth } from '../../core/sink-health.js';
import type { TableStats } from '../../tables/table.js';

/**
 * What the live page's sampler read at one instant: the agents' stats, their commit lag (as the
 * metrics read it), the sinks' health and the tables' stats. The input of {@link liveSnapshot}.
 *
 * @example
 * ```ts
 * const sample: LiveSample = { app: app.id, at: Date.now(), agents, lags, sinks: app.sinkHealth() };
 * ```
 */
export interface LiveSample {
  readonly app: string;
  /** When it was read, in ms since the epoch. */
  readonly at: number;
  readonly agents: readonly AgentStats[];
  /** Commit lag of each agent (same order as `agents`); `undefined` when it could not be read. */
  readonly lags: readonly (readonly PartitionLag[] | undefined)[];
  readonly sinks: readonly SinkHealth[];
  /** The tables' stats (none when the app declares no table). */
  readonly tables?: readonly TableStats[];
  /** Why the app stopped, if an agent failed. */
  readonly failure?: string;
}

/**
 * One point of an agent's history: what the sparklines are drawn from.
 *
 * @example
 * ```ts
 * const point: AgentPoint = { name: 'save', settled: 1200, inFlight: 3, lag: 0 };
 * ```
 */
export interface AgentPoint {
  readonly name: string;
  readonly settled: number;
  readonly inFlight: number;
  /** Total commit lag, `null` when unknown. */
  readonly lag: number | null;
}

/**
 * The few numbers of one sample that the history keeps (not the whole stats: the history spans minutes).
 *
 * @example
 * ```ts
 * const history = [...previous, historyPoint(sample)].slice(-300);
 * ```
 */
export interface HistoryPoint {
  readonly at: number;
  readonly agents: readonly AgentPoint[];
}

/**
 * One partition on the live page.
 *
 * @example
 * ```ts
 * const stuck = snapshot.agents.flatMap((a) => a.partitions.filter((p: LivePartition) => p.stuck));
 * ```
 */
export interface LivePartition {
  readonly partition: number;
  /** Last committed offset (-1 before the first commit). */
  readonly committed: number;
  /** Offset that may be committed now, if any. */
  readonly committable: number | null;
  readonly inFlight: number;
  /** How long the oldest unsettled record has waited, in ms (0 when none waits). */
  readonly oldestUnsettledMs: number;
  /** Its oldest unsettled record waited at least the stall timeout. */
  readonly stuck: boolean;
  /** End offset of the partition, `null` when the lag could not be read. */
  readonly end: number | null;
  /** Commit lag of the partition, `null` when unknown. */
  readonly lag: number | null;
}

/**
 * An agent's recent history, one entry per sample, oldest first.
 *
 * @example
 * ```ts
 * const peak = Math.max(...agent.series.rate.filter((r): r is number => r !== null));
 * ```
 */
export interface LiveSeries {
  readonly at: readonly number[];
  /** Messages settled per second since the previous sample; `null` for the first one. */
  readonly rate: readonly (number | null)[];
  readonly lag: readonly (number | null)[];
  readonly inFlight: readonly (number | null)[];
}

/**
 * One agent on the live page.
 *
 * @example
 * ```ts
 * for (const agent of snapshot.agents) console.log(`${agent.name}: ${agent.ratePerSecond ?? '-'} msg/s`);
 * ```
 */
export interface LiveAgent extends Omit<AgentStats, 'partitions'> {
  /** Total commit lag, `null` when unknown (agent not running, broker unreachable). */
  readonly lag: number | null;
  /** Messages settled per second over the last sampling interval, `null` before two samples. */
  readonly ratePerSecond: number | null;
  /** Age past which a partition counts as stuck, in ms (0: never). */
  readonly stallTimeoutMs: number;
  readonly partitions: readonly LivePartition[];
  readonly series: LiveSeries;
}

/**
 * One partition of a table on the live page (a partition this worker owns).
 *
 * @example
 * ```ts
 * const restoring = table.partitions.filter((p: LiveTablePartition) => p.state === 'recovering');
 * ```
 */
export interface LiveTablePartition {
  readonly partition: number;
  readonly state: 'recovering' | 'ready';
  readonly keys: number;
  /** Changelog records replayed (of the last restore) of those to replay. */
  readonly read: number;
  readonly toRead: number;
  /** Changes waiting for the broker's acknowledgement. */
  readonly pendingWrites: number;
}

/**
 * A table on the live page: its keys on this worker (summed over its owned partitions, as
 * `table.stats()` counts them), its state and, while it recovers, the restore's progress.
 *
 * @example
 * ```ts
 * const table: LiveTable = {
 *   name: 'counts', state: 'recovering', store: 'memory', keys: 1200, partitions: [],
 *   recovery: { done: 800, total: 1200 }, stalledMs: null,
 * };
 * ```
 */
export interface LiveTable {
  readonly name: string;
  readonly state: 'idle' | 'recovering' | 'ready';
  /** The store's description (`memory`, `lmdb <path>`). */
  readonly store: string;
  readonly keys: number;
  readonly partitions: readonly LiveTablePartition[];
  /** Changelog records replayed of those to replay by the partitions recovering, while any is. */
  readonly recovery?: { readonly done: number; readonly total: number };
  /** How long the running restore has made no progress, in ms (`null` unless stalled). */
  readonly stalledMs: number | null;
  /** Standby replicas kept here of partitions owned elsewhere (absent when none). */
  readonly standbys?: readonly { readonly partition: number; readonly keys: number; readonly lag: number }[];
}

/**
 * The JSON document the live page renders (`GET /stats.json`, and each server-sent event).
 *
 * @example
 * ```ts
 * const snapshot = (await (await fetch('http://localhost:9464/stats.json')).json()) as LiveSnapshot;
 * ```
 */
export interface LiveSnapshot {
  /** Version of this document's shape. */
  readonly version: 1;
  readonly app: string;
  /** When it was sampled, in ms since the epoch (the page shows ages relative to it). */
  readonly at: number;
  /** `ok` while every agent runs and none failed. */
  readonly status: 'ok' | 'failing';
  readonly failure?: string;
  readonly agents: readonly LiveAgent[];
  readonly sinks: readonly SinkHealth[];
  readonly tables: readonly LiveTable[];
}

/**
 * Options of {@link liveSnapshot}.
 *
 * @example
 * ```ts
 * liveSnapshot(sample, history, { stallTimeoutMs: 10_000 });
 * ```
 */
export interface LiveSnapshotOptions {
  /**
   * Stall timeout of agents whose stats do not carry their own (default 30 000, the agents' default;
   * 0: nothing is ever stuck).
   */
  readonly stallTimeoutMs?: number;
}

const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * The history point of a sample.
 *
 * @example
 * ```ts
 * history.push(historyPoint(sample));
 * ```
 */
export function historyPoint(sample: LiveSample): HistoryPoint {
  return {
    at: sample.at,
    agents: sample.agents.map((stats, i) => {
      const lags = sample.lags[i];
      return {
        name: stats.name,
        settled: stats.settled,
        inFlight: stats.inFlight,
        lag: lags ? totalLag(lags) : null,
      };
    }),
  };
}

/** The stall timeout an agent's stats carry, once agents report it; else `fallback`. */
function stallTimeoutOf(stats: AgentStats, fallback: number): number {
  const own = (stats as AgentStats & { readonly stallTimeoutMs?: unknown }).stallTimeoutMs;
  return typeof own === 'number' && Number.isFinite(own) ? own : fallback;
}

function seriesOf(name: string, history: readonly HistoryPoint[]): LiveSeries {
  const at: number[] = [];
  const rate: (number | null)[] = [];
  const lag: (number | null)[] = [];
  const inFlight: (number | null)[] = [];
  let previous: { at: number; settled: number } | undefined;
  for (const point of history) {
    const agent = point.agents.find((a) => a.name === name);
    at.push(point.at);
    lag.push(agent?.lag ?? null);
    inFlight.push(agent?.inFlight ?? null);
    if (agent && previous && point.at > previous.at) {
      rate.push((Math.max(0, agent.settled - previous.settled) * 1000) / (point.at - previous.at));
    } else {
      rate.push(null);
    }
    previous = agent ? { at: point.at, settled: agent.settled } : undefined;
  }
  return { at, rate, lag, inFlight };
}

/**
 * Builds the live page's document from the latest sample and the history that ends with it (pure: the
 * same input gives the same document). Rates come from the `settled` deltas between samples; lag is the
 * sampled commit lag (end − committed, as `/metrics` reports it); a partition is stuck when its oldest
 * unsettled record waited at least its agent's stall timeout.
 *
 * @example
 * ```ts
 * const history = [...previous, historyPoint(sample)];
 * response.end(JSON.stringify(liveSnapshot(sample, history)));
 * ```
 */
export function liveSnapshot(
  sample: LiveSample,
  history: readonly HistoryPoint[],
  options: LiveSnapshotOptions = {},
): LiveSnapshot {
  const fallbackStall = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const agents = sample.agents.map((stats, i): LiveAgent => {
    const lags = sample.lags[i];
    const stallTimeoutMs = stallTimeoutOf(stats, fallbackStall);
    const series = seriesOf(stats.name, history);
    const partitions = [...stats.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p): LivePartition => {
        const lag = lags?.find((l) => l.partition === p.partition);
        return {
          partition: p.partition,
          committed: p.committed,
          committable: p.committable ?? null,
          inFlight: p.inFlight,
          oldestUnsettledMs: p.oldestUnsettledMs,
          stuck: stallTimeoutMs > 0 && p.inFlight > 0 && p.oldestUnsettledMs >= stallTimeoutMs,
          end: lag?.end ?? null,
          lag: lag?.lag ?? null,
        };
      });
    return {
      name: stats.name,
      topic: stats.topic,
      group: stats.group,
      state: stats.state,
      received: stats.received,
      settled: stats.settled,
      retried: stats.retried,
      deadLettered: stats.deadLettered,
      inFlight: stats.inFlight,
      window: stats.window,
      pauses: stats.pauses,
      held: stats.held,
      restarts: stats.restarts,
      ...(stats.membership ? { membership: stats.membership } : {}),
      lag: lags ? totalLag(lags) : null,
      ratePerSecond: series.at.at(-1) === sample.at ? (series.rate.at(-1) ?? null) : null,
      stallTimeoutMs,
      partitions,
      series,
    };
  });
  const ok = sample.failure === undefined && agents.every((agent) => agent.state === 'running');
  return {
    version: 1,
    app: sample.app,
    at: sample.at,
    status: ok ? 'ok' : 'failing',
    ...(sample.failure !== undefined ? { failure: sample.failure } : {}),
    agents,
    sinks: [...sample.sinks].sort((a, b) => a.name.localeCompare(b.name) || a.agent.localeCompare(b.agent)),
    tables: (sample.tables ?? []).map(liveTable).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function liveTable(stats: TableStats): LiveTable {
  const partitions = [...stats.partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((p): LiveTablePartition => ({
      partition: p.partition,
      state: p.state,
      keys: p.keys,
      read: p.read,
      toRead: p.toRead,
      pendingWrites: p.pendingWrites,
    }));
  const recovering = partitions.filter((p) => p.state === 'recovering');
  return {
    name: stats.name,
    state: stats.state,
    store: stats.store,
    keys: partitions.reduce((sum, p) => sum + p.keys, 0),
    partitions,
    ...(recovering.length
      ? {
          recovery: {
            done: recovering.reduce((sum, p) => sum + p.read, 0),
            total: recovering.reduce((sum, p) => sum + p.toRead, 0),
          },
        }
      : {}),
    stalledMs: stats.stalledMs ?? null,
    ...(stats.standbys?.length
      ? { standbys: stats.standbys.map(({ partition, keys, lag }) => ({ partition, keys, lag })) }
      : {}),
  };
}
