import { expect } from 'chai';
import { flux } from '@influxdata/influxdb-client';
import { InfluxQueryError, fluxClient, influxQLClient, influxql } from '../../../../lib/influx.js';

/** A fake `fetch` answering every request with `status` and `body`; records the URLs asked. */
function fakeFetch(status: number, body: unknown) {
  const urls: string[] = [];
  const fetch = (async (url: string | URL | Request) => {
    urls.push(String(url));
    return new Response(JSON.stringify(body), { status });
  }) as typeof globalThis.fetch;
  return { urls, fetch };
}

describe('influxQLClient', () => {
  it('asks GET /query with db, epoch=ms and the escaped query, and returns the rows with their tags', async () => {
    const { urls, fetch } = fakeFetch(200, {
      results: [
        {
          series: [
            { tags: { symbol: 'ACME' }, columns: ['time', 'last'], values: [[1000, 12.5]] },
            { tags: { symbol: 'HOOLI' }, columns: ['time', 'last'], values: [[2000, 99]] },
          ],
        },
      ],
    });
    const client = influxQLClient({ url: 'http://influx:8086/', db: 'market', fetch });
    const rows = await client.query(influxql`SELECT last(price) FROM marketdata WHERE symbol = ${"A'B"}`);
    expect(rows).to.deep.equal([
      { symbol: 'ACME', time: 1000, last: 12.5 },
      { symbol: 'HOOLI', time: 2000, last: 99 },
    ]);
    const url = new URL(urls[0]!);
    expect([url.pathname, url.searchParams.get('db'), url.searchParams.get('epoch')]).to.deep.equal([
      '/query',
      'market',
      'ms',
    ]);
    expect(url.searchParams.get('q')).to.equal("SELECT last(price) FROM marketdata WHERE symbol = 'A\\'B'");
  });

  it('an InfluxQL error is a non-retriable InfluxQueryError; a 503 is a retriable one', async () => {
    const refused = influxQLClient({
      url: 'http://influx',
      db: 'm',
      fetch: fakeFetch(200, { results: [{ error: 'bad query' }] }).fetch,
    });
    const unavailable = influxQLClient({
      url: 'http://influx',
      db: 'm',
      fetch: fakeFetch(503, { error: 'busy' }).fetch,
    });
    const [bad, busy] = await Promise.all(
      [refused, unavailable].map((client) =>
        client.query(influxql`SELECT 1`).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    expect(bad).to.be.instanceOf(InfluxQueryError).with.property('retriable', false);
    expect(busy).to.be.instanceOf(InfluxQueryError).and.to.include({ retriable: true, status: 503 });
  });
});

describe('fluxClient', () => {
  it("runs a Flux query (built with the client's escaping `flux` template) through the QueryApi's collectRows", async () => {
    const asked: unknown[] = [];
    const queryApi = {
      collectRows: async <T>(query: unknown): Promise<T[]> => {
        asked.push(query);
        return [{ _value: 12.5 }] as T[];
      },
    };
    const symbol = 'AC"ME';
    const rows = await fluxClient(queryApi).query(
      flux`from(bucket: "m") |> filter(fn: (r) => r.symbol == ${symbol})`,
    );
    expect(rows).to.deep.equal([{ _value: 12.5 }]);
    expect(String(asked[0])).to.equal('from(bucket: "m") |> filter(fn: (r) => r.symbol == "AC\\"ME")');
  });
});
