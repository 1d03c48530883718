/**
 * A worker process for the Kafka table cluster test: one agent `count` (app id RIVULET_APP) counting the
 * records of RIVULET_TOPIC per record key into the table `counts` with `updateTable`. Runs as fast as it
 * can (the test paces the producer).
 *
 * Serves its tables over HTTP on 127.0.0.1 (a port of its own) with the worker server the CLI uses:
 * `GET /tables/counts/<key>` (421 with the partition when another worker owns the key, 503 while the
 * partition is restored) and `GET /tables/counts` (the keys of each partition it owns, paged).
 *
 * Reports on stdout, one JSON line every 100 ms: `{ port, received, applied, replayed, state, owned }`
 * (its HTTP port; records that entered the pipeline, changes applied, redeliveries recognised as applied,
 * counted since this process started; the table's state and owned partitions). Log lines from info up go
 * to stderr. Stops gracefully on SIGTERM (exit code 0).
 *
 * Run: `node --import tsx spec/integration/tables/table-cluster-worker.ts` with the RIVULET_* variables.
 */
import { map } from 'rxjs';
import { serveWorker } from '../../../lib/cli/worker-server.js';
import { createApp, json, updateTable, type Logger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { appMetrics } from '../../../lib/metrics/app-metrics.js';

const name = process.env.RIVULET_WORKER ?? 'worker';
const brokers = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');

const logger: Logger = {
  debug: () => {},
  info: (fields, message) => process.stderr.write(`[${name}] INFO ${message} ${safe(fields)}\n`),
  warn: (fields, message) => process.stderr.write(`[${name}] WARN ${message} ${safe(fields)}\n`),
  error: (fields, message) => process.stderr.write(`[${name}] ERROR ${message} ${safe(fields)}\n`),
};

function safe(fields: object): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) =>
      value instanceof Error ? `${value.name}: ${value.message}` : value,
    );
  } catch {
    return '';
  }
}

const app = createApp({
  id: process.env.RIVULET_APP!,
  logger,
  shutdownTimeoutMs: 20_000,
  transport: new KafkaTransport({
    brokers,
    clientId: name,
    logger,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    rebalanceTimeout: 20_000,
  }),
});
const topic = app.topic<{ id: number }>(process.env.RIVULET_TOPIC!, { value: json() });
const counts = app.table<number>('counts', { value: json(), default: () => 0 });
const progress = { received: 0, applied: 0, replayed: 0 };
app.agent(
  'count',
  topic,
  (record$) =>
    record$.pipe(
      map((message) => {
        progress.received++;
        return message;
      }),
      updateTable(counts, (n) => n + 1),
      map((update) => {
        if (update.value.replayed) progress.replayed++;
        else progress.applied++;
        return update;
      }),
    ),
  { commitIntervalMs: 50 },
);

const metrics = appMetrics(app);
const server = await serveWorker(app, metrics, { port: 0, host: '127.0.0.1' });

function report(): void {
  const stats = counts.stats();
  process.stdout.write(
    `${JSON.stringify({
      port: server.port,
      ...progress,
      state: stats.state,
      owned: stats.partitions.map((p) => p.partition),
    })}\n`,
  );
}
const reporting = setInterval(report, 100);

try {
  await app.run();
} finally {
  clearInterval(reporting);
  report();
  await server.close();
  metrics.close();
}
