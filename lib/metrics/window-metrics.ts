import type { Registry } from 'prom-client';
import type { WindowTableStats } from '../windows/window-types.js';
import type { MonitoredApp } from './monitored-app.js';
import { promClient } from './prom-client.js';

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
  const snapshot = (): WindowTableStats[] => [...(app.windowTables?.values() ?? [])].map((w) => w.stats());
  const registers = [registry];
  new (promClient().Gauge)({
    name: 'rivulet_window_watermark_seconds',
    help: 'Watermark of a partition of a windowed table (event time, seconds since the epoch)',
    labelNames: ['table', 'partition'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot())
        for (const [partition, watermark] of Object.entries(stats.watermarks))
          this.set({ table: stats.name, partition }, watermark / 1000);
    },
  });
  new (promClient().Gauge)({
    name: 'rivulet_window_results_pending',
    help: 'Final window results handed downstream and not settled yet',
    labelNames: ['table'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) this.set({ table: stats.name }, stats.pending);
    },
  });
  new (promClient().Counter)({
    name: 'rivulet_window_results_total',
    help: 'Final window results emitted (re-emits included), settled and dead-lettered',
    labelNames: ['table', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) {
        this.inc({ table: stats.name, outcome: 'emitted' }, stats.emitted);
        this.inc({ table: stats.name, outcome: 'settled' }, stats.settled);
        this.inc({ table: stats.name, outcome: 'dead_lettered' }, stats.resultsDeadLettered);
      }
    },
  });
  new (promClient().Counter)({
    name: 'rivulet_window_late_records_total',
    help: 'Records that arrived after their window closed, dead-lettered or dropped',
    labelNames: ['table', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) {
        this.inc({ table: stats.name, outcome: 'dead_lettered' }, stats.lateDeadLettered);
        this.inc({ table: stats.name, outcome: 'dropped' }, stats.lateDropped);
      }
    },
  });
  return [
    'rivulet_window_watermark_seconds',
    'rivulet_window_results_pending',
    'rivulet_window_results_total',
    'rivulet_window_late_records_total',
  ];
}
