/**
 * A worker process of the order-volume sample for the Kafka test: app id RIVULET_APP, orders from
 * RIVULET_ORDERS_TOPIC, points to the InfluxDB 1.x at RIVULET_INFLUX_URL, database RIVULET_INFLUX_DB,
 * grace RIVULET_GRACE_MS, agents committing every RIVULET_COMMIT_MS (default 20). A short session
 * timeout, so a killed worker's partitions move on quickly. Prints `started` once running, `received
 * <n>` as its window agent gets orders, `written <symbol> <start> <count>` per point InfluxDB accepted,
 * and, when RIVULET_REPORT_UNCOMMITTED=<n> is set, `uncommitted <m>` once per commit of its copy agent
 * followed by m ≥ n copies the broker acknowledged and no commit yet, early in the commit interval (a
 * SIGKILL then makes the hop copy them again: the next commit is most of RIVULET_COMMIT_MS away).
 * SIGTERM stops it gracefully.
 *
 * Run: `node --import tsx spec/integration/windows/order-volume-worker.ts` with the RIVULET_* variables.
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import { silentLogger } from '../../../lib/index.js';
import { influxWriteApi } from '../../../lib/influx.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { createOrderVolumeApp } from '../../../samples/order-volume/order-volume.js';
import { reportUncommitted } from '../support/uncommitted-copies.js';

const id = process.env.RIVULET_APP!;
const commitIntervalMs = Number(process.env.RIVULET_COMMIT_MS ?? 20);
const writeApi = influxWriteApi(new InfluxDB({ url: process.env.RIVULET_INFLUX_URL!, timeout: 5000 }), {
  db: process.env.RIVULET_INFLUX_DB!,
});
const { app } = createOrderVolumeApp({
  id,
  ordersTopic: process.env.RIVULET_ORDERS_TOPIC!,
  transport: new KafkaTransport({
    brokers: (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
    clientId: id,
    logger: silentLogger,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
  }),
  logger: silentLogger,
  writeApi,
  graceMs: Number(process.env.RIVULET_GRACE_MS),
  agentDefaults: { commitIntervalMs },
  onWritten: ({ symbol, start, count }) => console.log(`written ${symbol} ${start} ${count}`),
});
app.onStop(() => writeApi.close());
await app.start();
const run = app.run(); // started already: handles SIGTERM and waits for the stop
console.log('started');
let received = 0;
const progress = setInterval(() => {
  const now = app.agents.find((agent) => agent.name === 'count-orders-per-minute')!.stats().received;
  if (now !== received) console.log(`received ${(received = now)}`);
}, 100);

// the copy agent's records acknowledged by the broker but not committed, right after one of its commits
const copier = app.agents.find((agent) => agent.name === 'by-symbol-repartition')!;
const reportFrom = Number(process.env.RIVULET_REPORT_UNCOMMITTED ?? 0);
const stopReporting = reportFrom
  ? reportUncommitted([copier], commitIntervalMs, reportFrom, (m) => console.log(`uncommitted ${m}`))
  : () => {};
await run;
clearInterval(progress);
stopReporting();
