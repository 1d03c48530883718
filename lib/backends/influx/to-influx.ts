import { type OperatorFunction, catchError, defer, from, throwError } from 'rxjs';
import type { SinkMessage } from '../../sinks/sink-message.js';
import { type SinkInput, type SinkOptions, sink } from '../../sinks/sink.js';
import type { InfluxWriteApiLike } from './influx-write-api.js';
import { InfluxWriteError } from './influx-write-error.js';

/**
 * Options of {@link toInflux}: those of `sink()` except `concurrency` (one write at a time per WriteApi).
 *
 * @example
 * ```ts
 * tick$.pipe(bufferTime(100), toInflux(writeApi, toPoint, { name: 'influx-ticks', maxBatchSize: 5000 }));
 * ```
 */
export type ToInfluxOptions = Partial<Omit<SinkOptions, 'concurrency'>>;

const INFLUX_RETRY = { retries: 10, backoff: { initialDelayMs: 200, maxDelayMs: 5000 } } as const;

/**
 * Writes the points `toPoints` makes of each message to InfluxDB, and settles the messages only once the
 * server accepted the lines carrying them: each write queues its batch's points and awaits
 * `writeApi.flush()`. Create the `WriteApi` with {@link influxWriteApi} (or the options in
 * {@link INFLUX_SINK_WRITE_OPTIONS}) so the client neither retries nor flushes on its own: rivulet's
 * sink retry (default 10 retries, backoff up to 5 s) governs, and a point is never dropped from a
 * buffer after its message settled. Failures are {@link InfluxWriteError}s; 4xx other than 408/429 are
 * not retried, and the agent dead-letters the messages. Sink events are named `influx`.
 *
 * @example
 * ```ts
 * const writeApi = influxWriteApi(new InfluxDB({ url }), { db: 'market' });
 * tick$.pipe(
 *   bufferTime(100),
 *   toInflux(writeApi, ({ value: t }) => new Point('marketdata').tag('symbol', t.symbol).floatField('price', t.price).timestamp(t.at)),
 * );
 * ```
 */
export function toInflux<P, I extends SinkInput<unknown, unknown>>(
  writeApi: InfluxWriteApiLike<P>,
  toPoints: (message: SinkMessage<NoInfer<I>>) => P | readonly P[],
  options: ToInfluxOptions = {},
): OperatorFunction<I, I> {
  return sink<unknown, unknown>(
    (batch) =>
      defer(() => {
        const points: P[] = [];
        for (const message of batch) {
          const made = toPoints(message as SinkMessage<I>);
          if (Array.isArray(made)) points.push(...(made as readonly P[]));
          else points.push(made as P);
        }
        writeApi.writePoints(points);
        return from(writeApi.flush()).pipe(
          catchError((error: unknown) => throwError(() => InfluxWriteError.from(error))),
        );
      }),
    { name: 'influx', retry: INFLUX_RETRY, ...options, concurrency: 1 },
  );
}
