import { type OperatorFunction, defer, from, ignoreElements, mergeMap } from 'rxjs';
import type { Message } from '../../core/message.js';
import type { SinkMessage } from '../../sinks/sink-message.js';
import { type SinkInput, sink } from '../../sinks/sink.js';
import type { HttpClientLike, HttpRequestConfig } from './http-client.js';
import { type HttpCallOptions, httpCall } from './http-request.js';
import { recordKey } from './idempotency-key.js';
import { limitConcurrency } from './limit-concurrency.js';

/**
 * Options of {@link toHttp}.
 *
 * @example
 * ```ts
 * order$.pipe(
 *   toHttp(emailer, confirmation, { name: 'emailer', concurrency: 8, timeoutMs: 5000, retry: { retries: 2 } }),
 * );
 * ```
 */
export interface ToHttpOptions extends HttpCallOptions {
  /** Names the sink in errors and metrics (default `http`). */
  readonly name?: string;
  /** Requests in flight at once (default 16). */
  readonly concurrency?: number;
  /**
   * The `Idempotency-Key` header of a message's request (default: `topic/partition/offset`, see
   * {@link recordKey}); `false` sends none. A header the request sets itself wins.
   */
  readonly idempotencyKey?: ((message: Message<unknown, unknown>) => string) | false;
}

/**
 * Sends one HTTP request per message with the application's own axios instance, at most `concurrency`
 * in flight, each with a timeout, an `Idempotency-Key` header, and its own retries with exponential
 * backoff and jitter on network errors, timeouts, 5xx, 408 and 429 (honouring `Retry-After`). A message
 * (or a `bufferTime` batch, whose requests all go out concurrently) settles when its requests
 * succeeded. When a request fails for good, the messages of its write go to the agent's error policy:
 * after retries, to the dead-letter topic; a 4xx other than 408/429 is marked `retriable: false` and is
 * dead-lettered at once. Sink events are named `http` (or `options.name`), one per write.
 *
 * @example
 * ```ts
 * order$.pipe(
 *   toHttp(emailer, ({ value: o }) => ({ method: 'POST', url: '/send', data: { user: o.userId } }), {
 *     concurrency: 16,
 *   }),
 * );
 * ```
 */
export function toHttp<I extends SinkInput<unknown, unknown>>(
  client: HttpClientLike,
  request: (message: SinkMessage<NoInfer<I>>) => HttpRequestConfig,
  options: ToHttpOptions = {},
): OperatorFunction<I, I> {
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const key = options.idempotencyKey ?? recordKey;
  return (source) =>
    defer(() => {
      const gate = limitConcurrency(concurrency);
      const send = (message: Message<unknown, unknown>) =>
        gate(
          defer(() => httpCall(client, withKey(request(message as SinkMessage<I>), message, key), options)),
        );
      return source.pipe(
        sink<unknown, unknown>((batch) => from(batch).pipe(mergeMap(send), ignoreElements()), {
          name: options.name ?? 'http',
          concurrency,
          maxBatchSize: 1,
          // each request retries by itself (honouring Retry-After); the write as a whole does not
          retry: { retries: 0 },
          timeoutMs: 0, // each request has its own timeout (options.timeoutMs) and retries
          ...(options.scheduler ? { scheduler: options.scheduler } : {}),
        }),
      );
    });
}

function withKey(
  config: HttpRequestConfig,
  message: Message<unknown, unknown>,
  key: ToHttpOptions['idempotencyKey'],
): HttpRequestConfig {
  if (key === false || key === undefined) return config;
  const headers = config.headers ?? {};
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key')) return config;
  return { ...config, headers: { ...headers, 'Idempotency-Key': key(message) } };
}
