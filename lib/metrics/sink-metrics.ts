import type { Registry } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import type { SinkEvent, SinkHealth } from '../core/sink-health.js';
import { promClient } from './prom-client.js';

/**
 * Buckets of the sink latency histogram, in seconds.
 *
 * @example
 * ```ts
 * new (promClient().Histogram)({ name: 'my_write_seconds', help: 'writes', buckets: [...SINK_LATENCY_BUCKETS] });
 * ```
 */
export const SINK_LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Registers the per-sink metrics (labels `agent`, `sink`) and feeds them from `events` until the
 * returned subscription is unsubscribed: writes, failed writes, messages written and write latency;
 * and, read from `health` at each scrape, whether each sink is failing and for how long.
 *
 * @example
 * ```ts
 * const { subscription } = registerSinkMetrics(registry, app.sinkEvents$, () => app.sinkHealth());
 * subscription.unsubscribe(); // stop counting
 * ```
 */
export function registerSinkMetrics(
  registry: Registry,
  events: Observable<SinkEvent>,
  health: () => readonly SinkHealth[],
): { readonly names: string[]; readonly subscription: Subscription } {
  const registers = [registry];
  const labelNames = ['agent', 'sink'];
  const writes = new (promClient().Counter)({
    name: 'rivulet_sink_writes_total',
    help: 'Writes a sink finished (with their retries)',
    labelNames,
    registers,
  });
  const failures = new (promClient().Counter)({
    name: 'rivulet_sink_write_failures_total',
    help: 'Writes that failed for good after their retries',
    labelNames,
    registers,
  });
  const messages = new (promClient().Counter)({
    name: 'rivulet_sink_messages_total',
    help: 'Messages carried by the writes',
    labelNames,
    registers,
  });
  const latency = new (promClient().Histogram)({
    name: 'rivulet_sink_write_duration_seconds',
    help: 'Time a write took, retries included',
    labelNames,
    buckets: [...SINK_LATENCY_BUCKETS],
    registers,
  });
  new (promClient().Gauge)({
    name: 'rivulet_sink_failing',
    help: '1 while the sink is failing (from its first failed attempt until a write succeeds), else 0',
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const sink of health()) this.set(labelsOf(sink), sink.state === 'failing' ? 1 : 0);
    },
  });
  new (promClient().Gauge)({
    name: 'rivulet_sink_failing_seconds',
    help: 'How long the sink has been failing, 0 while it is ok',
    labelNames,
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const sink of health()) {
        this.set(labelsOf(sink), sink.state === 'failing' ? (now - sink.since) / 1000 : 0);
      }
    },
  });
  const subscription = events.subscribe((event) => {
    const labels = { agent: event.agent, sink: event.sink };
    writes.inc(labels);
    messages.inc(labels, event.messages);
    failures.inc(labels, event.error === undefined ? 0 : 1);
    latency.observe(labels, event.durationMs / 1000);
  });
  return {
    names: [
      'rivulet_sink_writes_total',
      'rivulet_sink_write_failures_total',
      'rivulet_sink_messages_total',
      'rivulet_sink_write_duration_seconds',
      'rivulet_sink_failing',
      'rivulet_sink_failing_seconds',
    ],
    subscription,
  };
}

/** The labels of a sink's health gauges. */
function labelsOf(sink: SinkHealth): { agent: string; sink: string } {
  return { agent: sink.agent, sink: sink.name };
}
