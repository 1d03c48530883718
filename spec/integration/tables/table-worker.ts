/**
 * A worker process for the Kafka table test: counts JSON `{ id }` records of RIVULET_TOPIC per record key
 * into the table `counts` (app id RIVULET_APP), slowly enough (RIVULET_DELAY_MS per record) to be killed
 * mid-stream. Prints `ready` once its table is ready, `applied <n>` now and then. With
 * RIVULET_SHAPE=groupBy the table is updated inside `groupBy` → `mergeMap` (bound by its first message).
 *
 * Run: `node --import tsx spec/integration/tables/table-worker.ts` with the RIVULET_* variables.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type OperatorFunction, concatMap, from, groupBy, map, mergeMap } from 'rxjs';
import { type Message, createApp, json, silentLogger, updateTable } from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';

const brokers = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const delayMs = Number(process.env.RIVULET_DELAY_MS ?? '1');
const app = createApp({
  id: process.env.RIVULET_APP!,
  transport: new KafkaTransport({
    brokers,
    clientId: 'table-worker',
    logger: silentLogger,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
  }),
  logger: silentLogger,
});
const topic = app.topic<{ id: number }>(process.env.RIVULET_TOPIC!, { value: json() });
const counts = app.table<number>('counts', { value: json(), default: () => 0 });
let applied = 0;
type Record = Message<{ id: number }, string | null>;
const count: OperatorFunction<Record, Message<unknown, string | null>> = (record$) =>
  record$.pipe(updateTable(counts, (n) => n + 1));
const update: OperatorFunction<Record, Message<unknown, string | null>> = process.env.RIVULET_SHAPE ===
'groupBy'
  ? (record$) =>
      record$.pipe(
        groupBy((m) => m.key),
        mergeMap((group$) => group$.pipe(count)),
      )
  : count;
app.agent(
  'count',
  topic,
  (record$) =>
    record$.pipe(
      concatMap((message) => from(sleep(delayMs)).pipe(map(() => message))),
      update,
      map((message) => {
        if (++applied % 100 === 0) console.log(`applied ${applied}`);
        return message;
      }),
    ),
  { commitIntervalMs: 20 },
);
void app.run();
const ready = setInterval(() => {
  if (counts.stats().state === 'ready') {
    console.log('ready');
    clearInterval(ready);
  }
}, 50);
