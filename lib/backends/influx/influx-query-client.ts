import type { ObservableInput } from 'rxjs';
import { InfluxQueryError } from './influx-query-error.js';
import type { InfluxQLQuery } from './influxql.js';

/**
 * One row of a query result: column name → value (`time` in ms since the epoch for InfluxQL).
 *
 * @example
 * ```ts
 * const row: InfluxRow = { time: 1714564800000, symbol: 'ACME', last: 12.5 };
 * ```
 */
export type InfluxRow = Readonly<Record<string, unknown>>;

/**
 * Runs queries of type `Q` and yields their rows: made by {@link influxQLClient} (InfluxDB 1.x) or
 * {@link fluxClient} (2.x), or a fake returning an Observable.
 *
 * @example
 * ```ts
 * const fake: InfluxQueryClient<InfluxQLQuery> = { query: () => of([{ time: 0, last: 12.5 }]) };
 * ```
 */
export interface InfluxQueryClient<Q> {
  query(query: Q): ObservableInput<readonly InfluxRow[]>;
}

/**
 * Options of {@link influxQLClient}.
 *
 * @example
 * ```ts
 * const influx = influxQLClient({ url: 'http://localhost:8086', db: 'market', token: 'reader:secret' });
 * ```
 */
export interface InfluxQLClientOptions {
  /** Base URL of InfluxDB 1.x, e.g. `http://localhost:8086`. */
  readonly url: string;
  readonly db: string;
  /** Sent as `Authorization: Token <token>` (for 1.x with auth: `user:password`). */
  readonly token?: string;
  /** Defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}

interface InfluxQLResponse {
  readonly error?: string;
  readonly results?: readonly {
    readonly error?: string;
    readonly series?: readonly {
      readonly tags?: Readonly<Record<string, string>>;
      readonly columns: readonly string[];
      readonly values?: readonly (readonly unknown[])[];
    }[];
  }[];
}

/**
 * A client for InfluxQL over the 1.x HTTP API (`GET /query?db=…&epoch=ms`), using `fetch`: rows of
 * every series of the first statement, tags included, `time` in ms.
 *
 * @example
 * ```ts
 * const influx = influxQLClient({ url: 'http://localhost:8086', db: 'market' });
 * order$.pipe(lookupInflux(influx, ({ value: o }) => influxql`SELECT last(price) FROM marketdata WHERE symbol = ${o.symbol}`));
 * ```
 */
export function influxQLClient(options: InfluxQLClientOptions): {
  query(query: InfluxQLQuery): Promise<readonly InfluxRow[]>;
} {
  const fetcher = options.fetch ?? fetch;
  const base = options.url.replace(/\/$/, '');
  return {
    async query(query: InfluxQLQuery): Promise<readonly InfluxRow[]> {
      const params = new URLSearchParams({ db: options.db, epoch: 'ms', q: query.text });
      let response: Response;
      try {
        response = await fetcher(`${base}/query?${params}`, {
          headers: options.token ? { authorization: `Token ${options.token}` } : {},
        });
      } catch (error) {
        throw new InfluxQueryError(`InfluxDB query failed: ${String(error)}`, undefined, { cause: error });
      }
      const text = await response.text();
      if (!response.ok)
        throw new InfluxQueryError(`InfluxDB answered ${response.status}: ${text}`, response.status);
      const body = JSON.parse(text) as InfluxQLResponse;
      const result = body.results?.[0];
      const error = body.error ?? result?.error;
      if (error)
        throw new InfluxQueryError(`InfluxQL error: ${error}`, response.status, { retriable: false });
      const rows: InfluxRow[] = [];
      for (const series of result?.series ?? [])
        for (const values of series.values ?? [])
          rows.push({
            ...series.tags,
            ...Object.fromEntries(series.columns.map((column, i) => [column, values[i]])),
          });
      return rows;
    },
  };
}

/**
 * The part of the client's `QueryApi` that {@link fluxClient} uses.
 *
 * @example
 * ```ts
 * const queryApi: FluxQueryApiLike<ParameterizedQuery> = new InfluxDB({ url, token }).getQueryApi(org);
 * const influx = fluxClient(queryApi);
 * ```
 */
export interface FluxQueryApiLike<Q> {
  collectRows<T>(query: Q): Promise<T[]>;
}

/**
 * A client for Flux (InfluxDB 2.x, or 1.8+ with Flux on) over the client's own `QueryApi`; build the
 * query with the client's `flux` template, which escapes values.
 *
 * @example
 * ```ts
 * const influx = fluxClient(new InfluxDB({ url, token }).getQueryApi(org));
 * order$.pipe(lookupInflux(influx, ({ value: o }) => flux`from(bucket: "market") |> range(start: -1h) |> filter(fn: (r) => r.symbol == ${o.symbol}) |> last()`));
 * ```
 */
export function fluxClient<Q>(queryApi: FluxQueryApiLike<Q>): InfluxQueryClient<Q> {
  return { query: (query) => queryApi.collectRows<InfluxRow>(query) };
}
