import type { ObservableInput } from 'rxjs';

/**
 * What `toInflux` needs of an InfluxDB `WriteApi` (from `@influxdata/influxdb-client`): queue points,
 * then `flush()` them, the promise settling with the server's answer. A fake may return an Observable.
 *
 * @example
 * ```ts
 * const writeApi: InfluxWriteApiLike<Point> = influxWriteApi(new InfluxDB({ url }), { db: 'metrics' });
 * ```
 */
export interface InfluxWriteApiLike<P> {
  writePoints(points: ArrayLike<P>): void;
  flush(): ObservableInput<unknown>;
}

/**
 * Where points go: a 1.x database (`/write?db=`), or a 2.x org and bucket (`/api/v2/write`).
 *
 * @example
 * ```ts
 * influxWriteApi(influx, { db: 'market', retentionPolicy: 'autogen' }); // InfluxDB 1.x
 * influxWriteApi(influx, { org: 'acme', bucket: 'market' }); // InfluxDB 2.x
 * ```
 */
export type InfluxTarget =
  | { readonly db: string; readonly retentionPolicy?: string }
  | { readonly org: string; readonly bucket: string };

/**
 * Write options under which the client neither buffers behind rivulet's back nor retries by itself:
 * every line goes out on `flush()`, whose promise then tells whether the server accepted it, and
 * rivulet's sink retry governs. (The client's own retry buffer is dropped by `close()` and its
 * background flushes swallow errors: with these options neither can lose a line rivulet settled.)
 *
 * @example
 * ```ts
 * const writeApi = new InfluxDB({ url, token }).getWriteApi(org, bucket, 'ms', INFLUX_SINK_WRITE_OPTIONS);
 * ```
 */
export const INFLUX_SINK_WRITE_OPTIONS = {
  maxRetries: 0,
  flushInterval: 0,
  batchSize: 1_000_000,
  maxBatchBytes: 1_000_000_000,
} as const;

/**
 * The factory side of an `InfluxDB` client instance.
 *
 * @example
 * ```ts
 * const influx: InfluxWriteApiFactory<WriteApi> = new InfluxDB({ url: 'http://localhost:8086', token });
 * ```
 */
export interface InfluxWriteApiFactory<W> {
  getWriteApi(
    org: string,
    bucket: string,
    precision?: 'ns' | 'us' | 'ms' | 's',
    options?: Partial<typeof INFLUX_SINK_WRITE_OPTIONS>,
  ): W;
}

/**
 * A `WriteApi` for `toInflux`, with millisecond precision and {@link INFLUX_SINK_WRITE_OPTIONS}. For
 * `{ db }` it writes to the 1.x endpoint `/write?db=<db>&precision=ms` (InfluxDB 1.x has no
 * `/api/v2`); for `{ org, bucket }` to `/api/v2/write` (InfluxDB 2.x/3.x, 1.8+, VictoriaMetrics).
 *
 * @example
 * ```ts
 * const writeApi = influxWriteApi(new InfluxDB({ url: 'http://localhost:8086' }), { db: 'market' });
 * ```
 */
export function influxWriteApi<W extends { path: string }>(
  influx: InfluxWriteApiFactory<W>,
  target: InfluxTarget,
): W {
  if ('db' in target) {
    const writeApi = influx.getWriteApi('', target.db, 'ms', INFLUX_SINK_WRITE_OPTIONS);
    const rp = target.retentionPolicy ? `&rp=${encodeURIComponent(target.retentionPolicy)}` : '';
    writeApi.path = `/write?db=${encodeURIComponent(target.db)}${rp}&precision=ms`;
    return writeApi;
  }
  return influx.getWriteApi(target.org, target.bucket, 'ms', INFLUX_SINK_WRITE_OPTIONS);
}
