import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { expect } from 'chai';
import { type Observable, bufferTime } from 'rxjs';
import { type Message, SinkError } from '../../../../lib/index.js';
import { InfluxWriteError, influxWriteApi, toInflux } from '../../../../lib/influx.js';
import { testPipeline } from '../../../../lib/testing/index.js';
import { marbles } from '../../../support/marbles.js';

type Tick = Message<{ symbol: string; price: number; at: number }, string | null>;
const toPoint = ({ value: t }: Tick) =>
  new Point('marketdata').tag('symbol', t.symbol).floatField('price', t.price).timestamp(t.at);
const ticks = {
  a: { symbol: 'ACME', price: 1.5, at: 1000 },
  b: { symbol: 'INIT', price: 2, at: 2000 },
  c: { symbol: 'ACME', price: 1.75, at: 3000 },
};

/** A fake WriteApi: points queue up, flush() hands them to `server`, which answers with a cold observable. */
function fakeWriteApi(server: (lines: string[], call: number) => Observable<void>) {
  let queued: string[] = [];
  const flushed: string[][] = [];
  return {
    flushed,
    writeApi: {
      writePoints(points: ArrayLike<Point>) {
        for (const point of Array.from(points)) queued.push(point.toLineProtocol()!);
      },
      flush() {
        const lines = queued;
        queued = [];
        return server(lines, flushed.push(lines));
      },
    },
  };
}

const httpError = (statusCode: number, retryAfter = 0) =>
  Object.assign(new Error(`HTTP ${statusCode}`), { statusCode, retryAfter: () => retryAfter });

describe('toInflux', () => {
  it('writes each batch’s points and settles its messages only when flush() succeeded', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const influx = fakeWriteApi(() => cold('--(x|)', { x: undefined }));
      const run = testPipeline(
        (tick$: Observable<Tick>) =>
          tick$.pipe(
            bufferTime(2),
            toInflux(influx.writeApi, (tick) => toPoint(tick)),
          ),
        cold('ab-----c----|', ticks),
      );
      expectObservable(run.settled).toBe('----(ab)--c-|', { a: 0, b: 1, c: 2 });
      flush();
      expect(influx.flushed).to.deep.equal([
        ['marketdata,symbol=ACME price=1.5 1000', 'marketdata,symbol=INIT price=2 2000'],
        ['marketdata,symbol=ACME price=1.75 3000'],
      ]);
    });
  });

  it('retries a 503 with the same points (honouring Retry-After) and settles once accepted', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const influx = fakeWriteApi((_lines, call) =>
        call === 1 ? cold<void>('-#', undefined, httpError(503, 2)) : cold('-(x|)', { x: undefined }),
      );
      const run = testPipeline(
        toInflux<Point, Tick>(influx.writeApi, toPoint, {
          retry: { retries: 3, backoff: { initialDelayMs: 10, jitter: false } },
        }),
        cold('a|', ticks),
      );
      // fails at 1, waits the 2 s the server asked, accepted at 2002
      expectObservable(run.settled).toBe('2002ms (a|)', { a: 0 });
      flush();
      expect(influx.flushed).to.deep.equal([
        ['marketdata,symbol=ACME price=1.5 1000'],
        ['marketdata,symbol=ACME price=1.5 1000'],
      ]);
    });
  });

  it('a 400 (bad line protocol) fails the batch at once with a non-retriable InfluxWriteError; nothing settles', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const influx = fakeWriteApi(() => cold<void>('-#', undefined, httpError(400)));
      const run = testPipeline(
        (tick$: Observable<Tick>) =>
          tick$.pipe(
            bufferTime(2),
            toInflux(influx.writeApi, (tick) => toPoint(tick)),
          ),
        cold('ab|', ticks),
      );
      const error = new SinkError('influx', 1, new InfluxWriteError(400, undefined, httpError(400)));
      expectObservable(run.settled).toBe('---|');
      expectObservable(run.failed).toBe('---(ab|)', {
        a: { partition: 0, offset: 0, error },
        b: { partition: 0, offset: 1, error },
      });
      flush();
      expect(influx.flushed).to.have.length(1);
    });
  });

  it('influxWriteApi: 1.x path with db and ms precision, client retries and background flushes off', () => {
    const v1 = influxWriteApi(new InfluxDB({ url: 'http://127.0.0.1:1' }), { db: 'my db' });
    expect(v1.path).to.equal('/write?db=my%20db&precision=ms');
    const v2 = influxWriteApi(new InfluxDB({ url: 'http://127.0.0.1:1' }), { org: 'o', bucket: 'b' });
    expect(v2.path).to.equal('/api/v2/write?org=o&bucket=b&precision=ms');
    const options = (v2 as unknown as { writeOptions: Record<string, unknown> }).writeOptions;
    expect(options).to.include({ maxRetries: 0, flushInterval: 0 });
    void v1.dispose();
    void v2.dispose();
  });
});
