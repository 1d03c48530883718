import type { Registry } from 'prom-client';
import { promClient } from './prom-client.js';

/** One metric read from a row when scraped: `[name, help, value of the row]`. @internal */
export type ScrapedMetric<R> = readonly [name: string, help: string, value: (row: R) => number];

/**
 * Registers counters and gauges whose values are read when `/metrics` is scraped: each is reset, then
 * set (a gauge) or incremented to the total (a counter) for every labelled row `rows()` gives. Returns
 * the names registered.
 *
 * @example
 * ```ts
 * registerScraped(registry, ['agent'], () => app.agents.map((a) => [{ agent: a.name }, a.stats()]), {
 *   counters: [['rivulet_agent_messages_settled_total', 'Records settled', (s) => s.settled]],
 * });
 * ```
 * @internal
 */
export function registerScraped<R>(
  registry: Registry,
  labelNames: readonly string[],
  rows: () => Iterable<readonly [Record<string, string | number>, R]>,
  metrics: { readonly counters?: readonly ScrapedMetric<R>[]; readonly gauges?: readonly ScrapedMetric<R>[] },
): string[] {
  const registers = [registry];
  const labels = [...labelNames];
  for (const [name, help, value] of metrics.counters ?? [])
    new (promClient().Counter)({
      name,
      help,
      labelNames: labels,
      registers,
      collect() {
        this.reset();
        for (const [l, row] of rows()) this.inc(l, value(row));
      },
    });
  for (const [name, help, value] of metrics.gauges ?? [])
    new (promClient().Gauge)({
      name,
      help,
      labelNames: labels,
      registers,
      collect() {
        this.reset();
        for (const [l, row] of rows()) this.set(l, value(row));
      },
    });
  return [...(metrics.counters ?? []), ...(metrics.gauges ?? [])].map(([name]) => name);
}
