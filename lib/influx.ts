/**
 * InfluxDB sink and lookups for the application's own `@influxdata/influxdb-client`: `rivulet/influx`.
 * @module
 */
export { toInflux, type ToInfluxOptions } from './backends/influx/to-influx.js';
export {
  influxWriteApi,
  INFLUX_SINK_WRITE_OPTIONS,
  type InfluxWriteApiLike,
  type InfluxWriteApiFactory,
  type InfluxTarget,
} from './backends/influx/influx-write-api.js';
export { InfluxWriteError } from './backends/influx/influx-write-error.js';
export { lookupInflux } from './backends/influx/lookup-influx.js';
export {
  influxql,
  InfluxQLQuery,
  InfluxQLIdentifier,
  InfluxQLValueError,
} from './backends/influx/influxql.js';
export {
  influxQLClient,
  fluxClient,
  type InfluxQueryClient,
  type InfluxQLClientOptions,
  type InfluxRow,
  type FluxQueryApiLike,
} from './backends/influx/influx-query-client.js';
export { InfluxQueryError } from './backends/influx/influx-query-error.js';
export { lookup, type Enriched, type LookupOptions } from './lookups/lookup.js';
