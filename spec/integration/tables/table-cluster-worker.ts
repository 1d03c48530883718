/**
 * A worker process for the Kafka table cluster test: one agent `count` (app id RIVULET_APP) counting the
 * records of RIVULET_TOPIC per record key into the table `counts` with `updateTable`. Runs as fast as it
 * can (the test paces the producer).
 *
 * Reports on stdout, one JSON line every 100 ms: `{ received, applied, replayed, state, owned }`
 * (records that entered the pipeline, changes applied, redeliveries recognised as applied, counted since
 * this process started; the table's state and owned partitions). Warnings and errors go to stderr.
 *
 * Reads its table over IPC: the message `{ type: 'dump' }` is answered with `{ type: 'dump', ready,
 * owned, counts }`: the keys and counts of every partition it owns (`ready: false` while one is still
 * being restored). Stops gracefully on SIGTERM (exit code 0).
 *
 * Run: `node --import tsx spec/integration/tables/table-cluster-worker.ts` with the RIVULET_* variables,
 * spawned with an IPC channel.
 */
import { map } from 'rxjs';
import { createApp, json, PartitionRecoveringError, updateTable, type Logger } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';

const name = process.env.RIVULET_WORKER ?? 'worker';
const brokers = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');

const logger: Logger = {
  debug: () => {},
  info: () => {},
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

function report(): void {
  const stats = counts.stats();
  process.stdout.write(
    `${JSON.stringify({
      ...progress,
      state: stats.state,
      owned: stats.partitions.map((p) => p.partition),
    })}\n`,
  );
}
const reporting = setInterval(report, 100);

/** The table as this worker owns it: every key of every owned partition with its count. */
function dump(): { ready: boolean; owned: number[]; counts: Record<string, number> } {
  const owned = counts.ownedPartitions();
  const entries: Record<string, number> = {};
  try {
    for (const partition of owned) {
      let page = counts.keys(partition, { limit: 500 });
      for (;;) {
        for (const key of page.keys) entries[key] = counts.get(key);
        if (page.next === undefined) break;
        page = counts.keys(partition, { after: page.next, limit: 500 });
      }
    }
  } catch (error) {
    if (error instanceof PartitionRecoveringError) return { ready: false, owned, counts: {} };
    throw error;
  }
  return { ready: counts.stats().state === 'ready', owned, counts: entries };
}

process.on('message', (request: { type?: string }) => {
  if (request.type === 'dump') process.send!({ type: 'dump', ...dump() });
});

try {
  await app.run();
} finally {
  clearInterval(reporting);
  report();
  process.disconnect?.();
}
