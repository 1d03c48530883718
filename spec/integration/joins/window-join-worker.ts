/**
 * A worker process for the windowed-join Kafka test: app RIVULET_APP joins the orders of
 * RIVULET_ORDERS_TOPIC with the payments of RIVULET_PAYMENTS_TOPIC (a left join by order id, within
 * RIVULET_WITHIN_MS, grace RIVULET_GRACE_MS, event time the values' `at`) and writes each result to
 * RIVULET_OUT_TOPIC as a `Paid`, `by` naming this worker (RIVULET_WORKER) and its join agent's group
 * generation. Its agents commit every RIVULET_COMMIT_MS (default 20); with RIVULET_RESULT_DELAY_MS, each
 * result waits that long before it is written (so results pend in the join's state). A short session
 * timeout, so a killed worker's partitions move on quickly.
 *
 * Prints `started` once running; then, every 100 ms that something changed, `status <json>`
 * ({@link WorkerStatus}); and, with RIVULET_REPORT_UNCOMMITTED=<n>, `uncommitted <m>` once per commit of
 * its copy agents that left m ≥ n copies acknowledged and not committed, early in the commit interval.
 * Once SIGUSR2 armed it, the first such report made while it owns join state, has settled results and
 * holds results not settled prints `killed <m>` and SIGKILLs the worker itself, before its next commit
 * (a kill sent by the parent could come late on a busy machine). SIGTERM stops it gracefully.
 *
 * Run: `node --import tsx spec/integration/joins/window-join-worker.ts` with the RIVULET_* variables.
 */
import { writeSync } from 'node:fs';
import { delay, identity } from 'rxjs';
import { createApp, joinStreams, json, silentLogger, toTopic, windowJoin } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { reportUncommitted } from '../support/uncommitted-copies.js';

export interface Order {
  readonly id: string;
  readonly user: string;
  readonly at: number;
}
export interface Payment {
  readonly id: string;
  readonly order: string;
  readonly amount: number;
  readonly at: number;
}
/** A result: an order with a payment within the window, or (unmatched) with none. */
export interface Paid {
  readonly order: string;
  readonly payment: string | null;
  readonly amount: number | null;
  /** `<worker>/<generation of its join agent's group>` when it was emitted. */
  readonly by: string;
}
/** What a worker prints in its `status` lines. */
export interface WorkerStatus {
  /** Records the join agent received. */
  readonly received: number;
  /** Partitions of the join topic the join agent owns. */
  readonly partitions: number;
  /** Results emitted, settled, pending; late records dead-lettered. */
  readonly emitted: number;
  readonly settled: number;
  readonly pending: number;
  readonly late: number;
  /** Keys of the join's state this worker holds (records that may still match). */
  readonly keys: number;
}

const id = process.env.RIVULET_APP!;
const worker = process.env.RIVULET_WORKER ?? 'worker';
const commitIntervalMs = Number(process.env.RIVULET_COMMIT_MS ?? 20);
const resultDelayMs = Number(process.env.RIVULET_RESULT_DELAY_MS ?? 0);
const app = createApp({
  id,
  transport: new KafkaTransport({
    brokers: (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
    clientId: `${id}-${worker}`,
    logger: silentLogger,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
  }),
  logger: silentLogger,
  agentDefaults: { commitIntervalMs },
});
const orders = app.topic<Order>(process.env.RIVULET_ORDERS_TOPIC!, { value: json(), partitions: 4 });
const payments = app.topic<Payment>(process.env.RIVULET_PAYMENTS_TOPIC!, { value: json(), partitions: 4 });
const out = app.topic<Paid>(process.env.RIVULET_OUT_TOPIC!, { value: json(), partitions: 2 });
const paid = joinStreams(app, 'paid', orders, payments, {
  within: Number(process.env.RIVULET_WITHIN_MS),
  graceMs: Number(process.env.RIVULET_GRACE_MS),
  type: 'left',
  leftKey: (m) => m.value.id,
  rightKey: (m) => m.value.order,
  leftTime: (m) => m.value.at,
  rightTime: (m) => m.value.at,
});
const generation = (): number =>
  app.agents.find((agent) => agent.name === 'match')?.stats().membership?.generation ?? 0;
const match = app.agent('match', paid.topic, (side$) =>
  side$.pipe(
    windowJoin(paid, (order, payment) => ({
      order: order.id,
      payment: payment?.id ?? null,
      amount: payment?.amount ?? null,
      by: `${worker}/${generation()}`,
    })),
    resultDelayMs > 0 ? delay(resultDelayMs) : identity,
    toTopic(out),
  ),
);
await app.start();
const run = app.run(); // started already: handles SIGTERM and waits for the stop
console.log('started');

/** Keys of the join's state in a partition (none while it is restored). */
const keysOf = (partition: number): number => {
  try {
    return paid.table.keys(partition, { limit: 100_000 }).keys.length;
  } catch {
    return 0;
  }
};
const statusNow = (): WorkerStatus => {
  const join = paid.stats();
  const owned = paid.table.ownedPartitions();
  return {
    received: match.stats().received,
    partitions: owned.length,
    emitted: join.emitted,
    settled: join.settled,
    pending: join.pending,
    late: join.lateDeadLettered,
    keys: owned.reduce((sum, p) => sum + keysOf(p), 0),
  };
};
let last = '';
const progress = setInterval(() => {
  const line = `status ${JSON.stringify(statusNow())}`;
  if (line !== last) console.log((last = line));
}, 100);

const copiers = app.agents.filter((agent) => agent.name === 'paid-left' || agent.name === 'paid-right');
const reportFrom = Number(process.env.RIVULET_REPORT_UNCOMMITTED ?? 0);
/** SIGUSR2 arms the worker: at its next report it SIGKILLs itself (no wait on the parent's event loop). */
let armed = false;
process.on('SIGUSR2', () => {
  armed = true;
});
const stopReporting = reportFrom
  ? reportUncommitted(copiers, commitIntervalMs, reportFrom, (m) => {
      const status = statusNow();
      const holding = status.partitions > 0 && status.keys > 0 && status.settled > 0 && status.pending > 0;
      console.log(`uncommitted ${m}`);
      if (!armed || !holding) return;
      // the status and the count the kill happened with, written synchronously before it
      writeSync(1, `status ${JSON.stringify(status)}\nkilled ${m}\n`);
      process.kill(process.pid, 'SIGKILL');
    })
  : () => {};
await run;
clearInterval(progress);
stopReporting();
