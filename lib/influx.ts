/**
 * InfluxDB sink and lookups for the application's own `@influxdata/influxdb-client`: `rivulet/influx`.
 * @module
 */
export { toInflux, type ToInfluxOptions } from './sinks/influx/to-influx.js';
export {
  influxWriteApi,
  INFLUX_SINK_WRITE_OPTIONS,
  type InfluxWriteApiLike,
  type InfluxWriteApiFactory,
  type InfluxTarget,
} from './sinks/influx/influx-write-api.js';
export { InfluxWriteError } from './sinks/influx/influx-write-error.js';
export { lookupInflux } from './lookups/influx/lookup-influx.js';
export {
  influxql,
  InfluxQLQuery,
  InfluxQLIdentifier,
  InfluxQLValueError,
} from './lookups/influx/influxql.js';
export {
  influxQLClient,
  fluxClient,
  type InfluxQueryClient,
  type InfluxQLClientOptions,
  type InfluxRow,
  type FluxQueryApiLike,
} from './lookups/influx/influx-query-client.js';
export { InfluxQueryError } from './lookups/influx/influx-query-error.js';
export { lookup, type Enriched, type LookupOptions } from './lookups/lookup.js';
