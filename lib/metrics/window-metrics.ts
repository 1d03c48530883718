import type { Registry } from 'prom-client';
import type { MonitoredApp } from './monitored-app.js';
import { promClient } from './prom-client.js';

/** What windowed tables and stream joins report alike: watermarks, and results owned until settled. */
interface OwnedResultStats {
  readonly name: string;
  readonly watermarks: Readonly<Record<number, number>>;
  readonly pending: number;
  readonly emitted: number;
  readonly settled: number;
  readonly resultsDeadLettered: number;
  readonly lateDeadLettered: number;
  readonly lateDropped: number;
}

/** How one kind of state names its metrics. */
interface Kind {
  /** Metric name prefix: `rivulet_window`, `rivulet_join`. */
  readonly prefix: string;
  /** The label naming the state: `table`, `join`. */
  readonly label: string;
  /** What it is, in help texts. */
  readonly what: string;
  /** What its results are, in help texts. */
  readonly results: string;
}

/**
 * Registers the metrics of an app's windowed tables, read from `stats()` when scraped (label `table`):
 * `rivulet_window_watermark_seconds` per owned partition (label `partition`),
 * `rivulet_window_results_pending` (final results emitted and not settled),
 * `rivulet_window_results_total` (label `outcome`: `emitted`, `settled`, `dead_lettered`) and
 * `rivulet_window_late_records_total` (label `outcome`: `dead_lettered`, `dropped`). Returns the names
 * registered.
 *
 * @example
 * ```ts
 * registerWindowMetrics(app, registry);
 * ```
 */
export function registerWindowMetrics(app: Pick<MonitoredApp, 'windowTables'>, registry: Registry): string[] {
  return registerOwnedResults(
    registry,
    { prefix: 'rivulet_window', label: 'table', what: 'a windowed table', results: 'Final window results' },
    () => [...(app.windowTables?.values() ?? [])].map((w) => w.stats()),
  );
}

/**
 * Registers the metrics of an app's stream–stream joins (`joinStreams`), as those of windowed tables
 * (label `join`): `rivulet_join_watermark_seconds` per owned partition of the join topic (label
 * `partition`), `rivulet_join_results_pending`, `rivulet_join_results_total` (label `outcome`) and
 * `rivulet_join_late_records_total` (label `outcome`). Their state shows as a table besides
 * (`<name>-join`). Returns the names registered.
 *
 * @example
 * ```ts
 * registerJoinMetrics(app, registry);
 * ```
 */
export function registerJoinMetrics(app: Pick<MonitoredApp, 'streamJoins'>, registry: Registry): string[] {
  return registerOwnedResults(
    registry,
    { prefix: 'rivulet_join', label: 'join', what: 'a stream join', results: 'Join results' },
    () => [...(app.streamJoins?.values() ?? [])].map((j) => j.stats()),
  );
}

function registerOwnedResults(
  registry: Registry,
  kind: Kind,
  snapshot: () => readonly OwnedResultStats[],
): string[] {
  const registers = [registry];
  const { prefix, label } = kind;
  new (promClient().Gauge)({
    name: `${prefix}_watermark_seconds`,
    help: `Watermark of a partition of ${kind.what} (event time, seconds since the epoch)`,
    labelNames: [label, 'partition'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot())
        for (const [partition, watermark] of Object.entries(stats.watermarks))
          this.set({ [label]: stats.name, partition }, watermark / 1000);
    },
  });
  new (promClient().Gauge)({
    name: `${prefix}_results_pending`,
    help: `${kind.results} handed downstream and not settled yet`,
    labelNames: [label],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) this.set({ [label]: stats.name }, stats.pending);
    },
  });
  new (promClient().Counter)({
    name: `${prefix}_results_total`,
    help: `${kind.results} emitted (re-emits included), settled and dead-lettered`,
    labelNames: [label, 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) {
        this.inc({ [label]: stats.name, outcome: 'emitted' }, stats.emitted);
        this.inc({ [label]: stats.name, outcome: 'settled' }, stats.settled);
        this.inc({ [label]: stats.name, outcome: 'dead_lettered' }, stats.resultsDeadLettered);
      }
    },
  });
  new (promClient().Counter)({
    name: `${prefix}_late_records_total`,
    help: 'Records that arrived after their window closed, dead-lettered or dropped',
    labelNames: [label, 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) {
        this.inc({ [label]: stats.name, outcome: 'dead_lettered' }, stats.lateDeadLettered);
        this.inc({ [label]: stats.name, outcome: 'dropped' }, stats.lateDropped);
      }
    },
  });
  return [
    `${prefix}_watermark_seconds`,
    `${prefix}_results_pending`,
    `${prefix}_results_total`,
    `${prefix}_late_records_total`,
  ];
}
