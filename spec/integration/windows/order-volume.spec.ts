import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { REPARTITION_HEADERS } from '../../../lib/index.js';
import { influxQLClient, influxql } from '../../../lib/influx.js';
import { waitFor } from '../../../lib/testing/index.js';
import { ORDERS_PER_MINUTE, countPerMinute } from '../../../samples/order-volume/order-volume.js';
import { type Order, SYMBOLS } from '../../../samples/orders/orders.js';
import { type FixtureProcess, startFixture } from '../support/fixture-process.js';
import { readTopic } from '../support/read-topic.js';
import { services, uniqueName } from '../support/services.js';

const fixture = fileURLToPath(new URL('./order-volume-worker.ts', import.meta.url));
const GRACE_MS = 20_000; // more than the orders of a killed worker's partitions wait to be copied again
const PRODUCE_MS = 20_000;
const VICTIM_COMMIT_MS = 1000; // the victim's agents commit this often: its copies wait to be committed

const startWorker = (env: Record<string, string>, onOutput?: (chunk: string) => void): FixtureProcess =>
  startFixture(fixture, env, onOutput);

async function influxQuery(q: string): Promise<void> {
  const response = await fetch(`${services.influxUrl}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q }),
  });
  expect(response.ok, q).to.equal(true);
}

describe('order-volume sample on Kafka and InfluxDB: a worker SIGKILLed mid-window, its copy agent with copies not committed', function () {
  this.timeout(420_000); // each stage has its own bound; about a minute and a half in all

  it('two workers, one killed while orders flow and restarted: copies are made again, and the points equal the exact counts of the produced orders', async () => {
    const appId = uniqueName('order-volume');
    const ordersTopic = `${appId}-orders`;
    const db = uniqueName('order_volume').replace(/-/g, '_');
    const kafka = new Kafka({ brokers: services.kafkaBrokers, clientId: appId, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: ordersTopic, numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    await influxQuery(`CREATE DATABASE "${db}"`);
    const env = {
      RIVULET_APP: appId,
      RIVULET_ORDERS_TOPIC: ordersTopic,
      RIVULET_INFLUX_URL: services.influxUrl,
      RIVULET_INFLUX_DB: db,
      RIVULET_GRACE_MS: String(GRACE_MS),
    };
    const workers: FixtureProcess[] = [];
    const producer = kafka.producer();
    try {
      // killed as soon as, a third into the orders, its copy agent holds copies the broker acknowledged
      // and that are not committed: the restarted copy agent (or the survivor's) copies them again
      let armed = false;
      let killedWith = 0;
      const victim = startWorker(
        { ...env, RIVULET_COMMIT_MS: String(VICTIM_COMMIT_MS), RIVULET_REPORT_UNCOMMITTED: '5' },
        (chunk) => {
          const pending = /uncommitted (\d+)/.exec(chunk);
          if (!armed || killedWith > 0 || !pending) return;
          victim.child.kill('SIGKILL');
          killedWith = Number(pending[1]);
        },
      );
      const survivor = startWorker(env);
      workers.push(victim, survivor);
      await waitFor(() => workers.every((w) => w.output().includes('started')), {
        timeoutMs: 60_000,
        description: 'both workers started',
      });
      await producer.connect();

      // live orders, 10 every 100 ms for PRODUCE_MS, executed now: a window is open all along
      const produced: Order[] = [];
      const began = Date.now();
      let killedAt = 0;
      for (let batch = 0; Date.now() - began < PRODUCE_MS; batch++) {
        const orders = Array.from({ length: 10 }, (_, i): Order => {
          const n = produced.length + i;
          return {
            id: `order-${n}`,
            user: `user-${n % 40}`,
            symbol: SYMBOLS[(n * 7 + batch) % SYMBOLS.length]!,
            quantity: 1 + (n % 100),
            price: 100,
            executedAt: new Date(),
          };
        });
        await producer.send({
          topic: ordersTopic,
          messages: orders.map((o) => ({ key: o.user, value: JSON.stringify(o) })),
        });
        produced.push(...orders);
        armed ||= Date.now() - began > PRODUCE_MS / 3 && /received [1-9]/.test(victim.output());
        if (!killedAt && killedWith > 0) {
          await victim.exited;
          killedAt = Date.now() - began;
          workers.push(startWorker(env)); // the victim, restarted
        }
        await new Promise((resolve) => setTimeout(resolve, 100)); // the pace of the orders, not a wait
      }
      expect(killedAt, 'the victim was killed while orders flowed').to.be.above(0);
      const expected = countPerMinute(produced);
      const lastEnd = Math.max(...[...expected.keys()].map((id) => Number(id.split('|')[1]))) + 60_000;

      // the last window closes GRACE_MS after its end, by the wall clock (the partitions are idle)
      const influx = influxQLClient({ url: services.influxUrl, db });
      const readPoints = async () => {
        const rows = await influx.query(
          influxql`SELECT "count", "symbol" FROM ${influxql.identifier(ORDERS_PER_MINUTE)}`,
        );
        return new Map(rows.map((row) => [`${String(row.symbol)}|${Number(row.time)}`, Number(row.count)]));
      };
      let points = new Map<string, number>();
      await waitFor(
        async () => {
          points = await readPoints();
          return [...points.values()].reduce((a, b) => a + b, 0) >= produced.length;
        },
        {
          timeoutMs: lastEnd + GRACE_MS + 60_000 - Date.now(),
          intervalMs: 500,
          description: 'points for every order',
        },
      );
      const closedAfterEnd = Date.now() - lastEnd;

      for (const worker of workers) worker.child.kill('SIGTERM');
      await waitFor(() => workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null), {
        timeoutMs: 40_000,
        description: 'the workers stopped by SIGTERM',
      });
      points = await readPoints();

      // what the window agent read: the repartitioned orders, with the copies a killed copy agent made again
      const bySymbol = await readTopic(kafka, `${appId}-by-symbol-repartition`);
      const origins = new Set(
        bySymbol.map((m) =>
          [REPARTITION_HEADERS.partition, REPARTITION_HEADERS.offset]
            .map((h) => String(m.headers?.[h]))
            .join('/'),
        ),
      );
      const copiedAgain = bySymbol.length - origins.size;
      const written = workers.flatMap((w) => w.output().match(/^written .*$/gm) ?? []);
      console.log(
        `      ${produced.length} orders in ${expected.size} symbol-minutes; victim killed ${killedAt} ms into ${PRODUCE_MS} ms of orders with ${killedWith} copies not committed; ` +
          `${bySymbol.length} records after the repartition hop (${copiedAgain} copied again); ${written.length} points written (${written.length - expected.size} again after the crash); ` +
          `last point ${closedAfterEnd} ms after its window's end (grace ${GRACE_MS} ms)`,
      );
      expect(origins.size, 'every order crossed the hop').to.equal(produced.length);
      expect(copiedAgain, 'the killed copy agent left copies to make again').to.be.above(0);
      // exact across the hop and the crash: each order counted once, its copies made again included
      expect(points).to.deep.equal(expected);
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await producer.disconnect();
      await influxQuery(`DROP DATABASE "${db}"`);
    }
  });
});
