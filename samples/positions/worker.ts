/**
 * The positions sample as a worker module, for `rivulet worker` (start more to scale out: the table's
 * partitions move with the agent's, restored from the changelog). With KAFKA_URL:
 *
 *   KAFKA_URL=kafka://127.0.0.1:19092 npm run rivulet -- worker samples/positions/worker.ts --port 9464
 *   npm run rivulet -- send fills '{"orderId":"o-1","account":"account-3","symbol":"ACME","quantity":1200,"price":101.5}' \
 *     --key o-1 --broker kafka://127.0.0.1:19092
 *   curl http://localhost:9464/tables/positions/account-3
 *   npm run rivulet -- tail position_alerts --broker kafka://127.0.0.1:19092
 *
 * Without KAFKA_URL it runs on memory:// and feeds itself a few made-up fills per second.
 */
import { createPositionsApp, generateFills } from './positions.js';

const { app, fills } = createPositionsApp({
  broker: process.env.KAFKA_URL ?? 'memory://positions-worker',
  snapshotMs: 60_000,
  onSnapshot: (books) => app.logger.info({ accounts: books.size }, 'positions snapshot'),
});

if (!process.env.KAFKA_URL) {
  let sent = 0;
  const demo = setInterval(() => {
    const batch = generateFills(10, 10, ++sent).map((f) => ({ ...f, orderId: `${f.orderId}-${sent}` }));
    void fills.sendMany(batch.map((f) => ({ key: f.orderId, value: f })));
  }, 1000);
  demo.unref();
}

export default app;
