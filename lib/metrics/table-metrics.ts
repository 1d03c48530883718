import type { Registry } from 'prom-client';
import type { TableStats } from '../tables/table.js';
import type { GlobalTablePartitionStats, GlobalTableStats } from '../tables/global-table.js';
import type { MonitoredApp } from './monitored-app.js';
import { type ScrapedMetric, registerScraped } from './scraped-metrics.js';
import { promClient } from './prom-client.js';

const PARTITION_GAUGES: readonly ScrapedMetric<TableStats['partitions'][number]>[] = [
  ['rivulet_table_keys', 'Keys of the table in a partition this worker owns', (p) => p.keys],
  [
    'rivulet_table_recovering',
    '1 while the partition is restored from its changelog, else 0',
    (p) => (p.state === 'recovering' ? 1 : 0),
  ],
  [
    'rivulet_table_restore_remaining',
    'Changelog records left to replay in the running (or last) restore of the partition',
    (p) => Math.max(0, p.toRead - p.read),
  ],
  [
    'rivulet_table_changelog_lag',
    "Changes of the partition between its changelog and this worker's table: records left to replay plus changes waiting for the broker",
    (p) => Math.max(0, p.toRead - p.read) + p.pendingWrites,
  ],
];

const STANDBY_GAUGES: readonly ScrapedMetric<NonNullable<TableStats['standbys']>[number]>[] = [
  [
    'rivulet_table_standby_keys',
    'Keys of the standby copy of a partition another worker owns',
    (s) => s.keys,
  ],
  [
    'rivulet_table_standby_lag',
    'Changelog offsets the standby copy of a partition had not read at its last round (what a takeover would replay)',
    (s) => s.lag,
  ],
];

/** Per partition of a global table's topic, this worker's copy. */
const GLOBAL_PARTITION_GAUGES: readonly ScrapedMetric<GlobalTablePartitionStats>[] = [
  [
    'rivulet_global_table_lag_records',
    "Records of the global table's topic partition not yet applied to this worker's copy (end offset last fetched minus position)",
    (p) => p.lag,
  ],
  ['rivulet_global_table_keys', "Keys of the global table's partition in this worker's copy", (p) => p.keys],
];

/**
 * Registers the per-table metrics of an app, read from `table.stats()` when scraped: per owned
 * partition (labels `table`, `partition`) `rivulet_table_keys`, `rivulet_table_recovering`,
 * `rivulet_table_restore_remaining` and `rivulet_table_changelog_lag`; per table `rivulet_table_pending_writes` (changes waiting for the
 * broker) and `rivulet_table_changelog_write_failures_total`; per standby replica (labels `table`,
 * `partition`) `rivulet_table_standby_keys` and `rivulet_table_standby_lag`; per partition of a global
 * table's topic `rivulet_global_table_lag_records` and `rivulet_global_table_keys`. Tables declared after
 * this call show too.
 * Returns the names registered.
 *
 * @example
 * ```ts
 * registerTableMetrics(app, registry);
 * ```
 */
export function registerTableMetrics(
  app: Pick<MonitoredApp, 'tables' | 'globalTables'>,
  registry: Registry,
): string[] {
  const snapshot = (): TableStats[] => [...(app.tables?.values() ?? [])].map((table) => table.stats());
  const registers = [registry];
  perPartition(registry, PARTITION_GAUGES, () => snapshot().map((t) => [t.name, t.partitions]));
  perPartition(registry, STANDBY_GAUGES, () => snapshot().map((t) => [t.name, t.standbys ?? []]));
  new (promClient().Gauge)({
    name: 'rivulet_table_pending_writes',
    help: "Table changes waiting for the broker's acknowledgement of their changelog record",
    labelNames: ['table'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot())
        this.set(
          { table: stats.name },
          stats.partitions.reduce((sum, p) => sum + p.pendingWrites, 0),
        );
    },
  });
  new (promClient().Counter)({
    name: 'rivulet_table_changelog_write_failures_total',
    help: 'Changelog produce attempts that failed (and were retried)',
    labelNames: ['table'],
    registers,
    collect() {
      this.reset();
      for (const stats of snapshot()) this.inc({ table: stats.name }, stats.writeFailures);
    },
  });
  const globals = (): GlobalTableStats[] => [...(app.globalTables?.values() ?? [])].map((t) => t.stats());
  perPartition(registry, GLOBAL_PARTITION_GAUGES, () => globals().map((t) => [t.name, t.partitions]));
  return [
    ...PARTITION_GAUGES.map(([name]) => name),
    ...STANDBY_GAUGES.map(([name]) => name),
    'rivulet_table_pending_writes',
    'rivulet_table_changelog_write_failures_total',
    ...GLOBAL_PARTITION_GAUGES.map(([name]) => name),
  ];
}

/** The gauges of per-partition rows (labels `table`, `partition`), read from `tables()` when scraped. */
function perPartition<P extends { readonly partition: number }>(
  registry: Registry,
  gauges: readonly ScrapedMetric<P>[],
  tables: () => readonly (readonly [string, readonly P[]])[],
): void {
  const rows = function* (): Iterable<readonly [Record<string, string | number>, P]> {
    for (const [table, partitions] of tables())
      for (const row of partitions) yield [{ table, partition: row.partition }, row];
  };
  registerScraped(registry, ['table', 'partition'], rows, { gauges });
}
