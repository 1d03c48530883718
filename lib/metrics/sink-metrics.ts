import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import type { SinkEvent } from '../sinks/sink-events.js';
import { sinkHealth } from '../sinks/sink-health.js';

/**
 * Buckets of the sink latency histogram, in seconds.
 *
 * @example
 * ```ts
 * new Histogram({ name: 'my_write_seconds', help: 'writes', buckets: [...SINK_LATENCY_BUCKETS] });
 * ```
 */
export const SINK_LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Registers the per-sink metrics (label `sink`) and feeds them from `events` until the returned
 * subscription is unsubscribed: writes, failed writes, messages written and write latency.
 *
 * @example
 * ```ts
 * const subscription = registerSinkMetrics(registry, sinkEvents);
 * subscription.unsubscribe(); // stop counting
 * ```
 */
export function registerSinkMetrics(
  registry: Registry,
  events: Observable<SinkEvent>,
): { readonly names: string[]; readonly subscription: Subscription } {
  const registers = [registry];
  const labelNames = ['sink'];
  const writes = new Counter({
    name: 'rivulet_sink_writes_total',
    help: 'Writes a sink finished (with their retries)',
    labelNames,
    registers,
  });
  const failures = new Counter({
    name: 'rivulet_sink_write_failures_total',
    help: 'Writes that failed for good after their retries',
    labelNames,
    registers,
  });
  const messages = new Counter({
    name: 'rivulet_sink_messages_total',
    help: 'Messages carried by the writes',
    labelNames,
    registers,
  });
  const latency = new Histogram({
    name: 'rivulet_sink_write_duration_seconds',
    help: 'Time a write took, retries included',
    labelNames,
    buckets: [...SINK_LATENCY_BUCKETS],
    registers,
  });
  new Gauge({
    name: 'rivulet_sink_failing',
    help: '1 while the sink is failing (from its first failed attempt until a write succeeds), else 0',
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const sink of sinkHealth()) this.set({ sink: sink.name }, sink.state === 'failing' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rivulet_sink_failing_seconds',
    help: 'How long the sink has been failing, 0 while it is ok',
    labelNames,
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const sink of sinkHealth()) {
        this.set({ sink: sink.name }, sink.state === 'failing' ? (now - sink.since) / 1000 : 0);
      }
    },
  });
  const subscription = events.subscribe((event) => {
    const labels = { sink: event.sink };
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
