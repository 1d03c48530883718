import { InfluxDB, Point, setLogger } from '@influxdata/influxdb-client';
import { expect } from 'chai';
import { bufferTime } from 'rxjs';
import { type SinkEvent, createApp, mapValue, silentLogger } from '../../../lib/index.js';
import {
  type InfluxTarget,
  influxQLClient,
  influxWriteApi,
  influxql,
  lookupInflux,
  toInflux,
} from '../../../lib/influx.js';
import { waitFor, waitForCommitted } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

interface Reading {
  readonly seq: number;
  readonly at: number;
}

const BASE = Date.UTC(2024, 0, 1);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Readings → bufferTime(50) → toInflux, through a proxy that drops the server for `outageMs` a third
 * of the way through. Returns what settled and what the sink saw.
 */
async function writeWithOutage(
  serverUrl: string,
  target: InfluxTarget,
  measurement: string,
  count: number,
  base: number,
) {
  const server = new URL(serverUrl);
  const proxy = await TcpProxy.start(server.hostname, Number(server.port));
  const writeApi = influxWriteApi(
    new InfluxDB({ url: `http://127.0.0.1:${proxy.port}`, timeout: 2000 }),
    target,
  );
  const events: SinkEvent[] = [];
  const app = createApp({
    id: uniqueName('influx'),
    broker: `memory://${uniqueName('influx')}`,
    logger: silentLogger,
  });
  const watch = app.sinkEvents$.subscribe((event) => {
    if (event.sink === 'influx') events.push(event);
  });
  const readings = app.topic<Reading>(uniqueName('readings'), { partitions: 2 });
  const agent = app.agent('store-readings', readings, (reading$) =>
    reading$.pipe(
      bufferTime(50),
      toInflux(writeApi, ({ value: r }) =>
        new Point(measurement).tag('src', 'test').intField('seq', r.seq).timestamp(r.at),
      ),
    ),
  );
  try {
    await app.start();
    for (let i = 0; i < count; i += 25) {
      if (i === Math.floor(count / 3 / 25) * 25) {
        await proxy.down();
        setTimeout(() => void proxy.up(), 3000);
      }
      const batch = [];
      for (let j = i; j < Math.min(count, i + 25); j++)
        batch.push({ key: `k${j}`, value: { seq: j, at: base + j } });
      await readings.sendMany(batch);
      await sleep(20);
    }
    await waitForCommitted(app, { timeoutMs: 60_000 });
    return { events, stats: agent.stats() };
  } finally {
    watch.unsubscribe();
    await app.stop();
    await proxy.down();
    await writeApi.close().catch(() => undefined);
  }
}

function expectOutageRidden(run: Awaited<ReturnType<typeof writeWithOutage>>, count: number) {
  expect(run.stats.settled).to.equal(count);
  // an outage is not bad input: writes that spent their budget during it are held and tried again
  expect(run.stats.deadLettered).to.equal(0);
  expect(
    run.events.some((event) => event.attempts > 1 || event.error !== undefined),
    'a write failed during the outage and was retried',
  ).to.equal(true);
  const written = run.events.filter((event) => event.error === undefined);
  expect(written.reduce((sum, event) => sum + event.messages, 0)).to.equal(count);
}

describe('toInflux and lookupInflux against real servers', function () {
  this.timeout(120_000);

  before(async () => {
    // the client logs every refused connection of the outage; the test checks the outcome instead
    setLogger({ error: () => undefined, warn: () => undefined });
    const response = await fetch(`${services.influxUrl}/query`, {
      method: 'POST',
      body: new URLSearchParams({ q: `CREATE DATABASE "${services.influxDb}"` }),
    });
    expect(response.ok).to.equal(true);
  });

  it('InfluxDB 1.6 (/write): a 3 s outage loses no point; points written equal messages settled', async () => {
    const measurement = uniqueName('readings').replace(/-/g, '_');
    const count = 600;
    const run = await writeWithOutage(
      services.influxUrl,
      { db: services.influxDb },
      measurement,
      count,
      BASE,
    );
    expectOutageRidden(run, count);
    const influx = influxQLClient({ url: services.influxUrl, db: services.influxDb });
    const rows = await influx.query(influxql`SELECT seq FROM ${influxql.identifier(measurement)}`);
    expect(rows.map((row) => row.seq)).to.deep.equal(Array.from({ length: count }, (_v, i) => i));
    expect(rows.map((row) => row.time)).to.deep.equal(Array.from({ length: count }, (_v, i) => BASE + i));
  });

  it('VictoriaMetrics (/api/v2/write): a 3 s outage loses no point; read back from /api/v1/export', async () => {
    const measurement = uniqueName('vm').replace(/-/g, '_');
    const count = 600;
    const base = Date.now() - 3_600_000; // inside VictoriaMetrics' one-day retention
    const run = await writeWithOutage(
      services.victoriaUrl,
      { org: 'rivulet', bucket: 'test' },
      measurement,
      count,
      base,
    );
    expectOutageRidden(run, count);
    let timestamps: number[] = [];
    let values: number[] = [];
    await waitFor(
      async () => {
        const match = encodeURIComponent(`{__name__="${measurement}_seq"}`);
        const text = await (await fetch(`${services.victoriaUrl}/api/v1/export?match[]=${match}`)).text();
        const series = text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { values: number[]; timestamps: number[] });
        timestamps = series.flatMap((s) => s.timestamps);
        values = series.flatMap((s) => s.values);
        return new Set(timestamps).size >= count;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'VictoriaMetrics to show the points' },
    );
    // a write the server took but whose answer the outage cut off is sent again (at least once):
    // VictoriaMetrics keeps such duplicates, so compare the distinct points
    const points = new Set(timestamps.map((t, i) => `${t}=${values[i]}`));
    const expected = Array.from({ length: count }, (_v, i) => `${base + i}=${i}`);
    expect([...points].sort()).to.deep.equal(expected.sort());
  });

  it('execution quality on InfluxDB 1.6: the market price at execution time, with injection attempts neutralised', async () => {
    const measurement = uniqueName('marketdata').replace(/-/g, '_');
    const writeApi = influxWriteApi(new InfluxDB({ url: services.influxUrl }), { db: services.influxDb });
    writeApi.writePoints([
      new Point(measurement).tag('symbol', 'ACME').floatField('price', 10).timestamp(BASE),
      new Point(measurement)
        .tag('symbol', 'ACME')
        .floatField('price', 11)
        .timestamp(BASE + 60_000),
      new Point(measurement)
        .tag('symbol', 'INIT')
        .floatField('price', 99)
        .timestamp(BASE + 30_000),
    ]);
    await writeApi.flush();
    await writeApi.close();
    const influx = influxQLClient({ url: services.influxUrl, db: services.influxDb });
    interface Order {
      readonly id: string;
      readonly symbol: string;
      readonly price: number;
      readonly executedAt: string;
    }
    const app = createApp({
      id: uniqueName('exq'),
      broker: `memory://${uniqueName('exq')}`,
      logger: silentLogger,
    });
    const orders = app.topic<Order>(uniqueName('orders'));
    const reports: { id: string; market: number | null; slippage: number | null }[] = [];
    app.agent('execution-quality', orders, (order$) =>
      order$.pipe(
        lookupInflux(
          influx,
          ({ value: o }) => influxql`SELECT last(price) FROM ${influxql.identifier(measurement)}
            WHERE symbol = ${o.symbol} AND time <= ${new Date(o.executedAt)}`,
        ),
        mapValue(({ input: o, result: [row] }) => {
          const market = typeof row?.last === 'number' ? row.last : null;
          const report = { id: o.id, market, slippage: market === null ? null : o.price - market };
          reports.push(report);
          return report;
        }),
      ),
    );
    try {
      await app.start();
      const at = (ms: number) => new Date(BASE + ms).toISOString();
      await orders.sendMany([
        { key: 'a', value: { id: 'before-tick', symbol: 'ACME', price: 10.5, executedAt: at(30_000) } },
        { key: 'b', value: { id: 'after-tick', symbol: 'ACME', price: 10.5, executedAt: at(90_000) } },
        // injection attempts: would match INIT's 99 (or everything) if spliced into the query text
        { key: 'c', value: { id: 'or', symbol: `x' OR symbol = 'INIT`, price: 1, executedAt: at(90_000) } },
        {
          key: 'd',
          value: {
            id: 'regex',
            symbol: `x' OR symbol =~ /.*/ AND '1' = '1`,
            price: 1,
            executedAt: at(90_000),
          },
        },
        {
          key: 'e',
          value: { id: 'backslash', symbol: `x\\' OR symbol = 'INIT' --`, price: 1, executedAt: at(90_000) },
        },
      ]);
      await waitForCommitted(app, { timeoutMs: 30_000 });
      const byId = Object.fromEntries(reports.map((r) => [r.id, r]));
      expect(byId['before-tick']).to.deep.equal({ id: 'before-tick', market: 10, slippage: 0.5 });
      expect(byId['after-tick']).to.deep.equal({ id: 'after-tick', market: 11, slippage: -0.5 });
      for (const id of ['or', 'regex', 'backslash'])
        expect(byId[id], id).to.deep.equal({ id, market: null, slippage: null });
    } finally {
      await app.stop();
    }
  });
});
