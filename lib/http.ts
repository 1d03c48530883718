/**
 * HTTP sink and lookup for the application's own axios instance: `rivulet/http`.
 * @module
 */
export { toHttp, type ToHttpOptions } from './sinks/http/to-http.js';
export { lookupHttp } from './lookups/http/lookup-http.js';
export { httpCall, type HttpCallOptions } from './sinks/http/http-request.js';
export type { HttpClientLike, HttpRequestConfig, HttpResponseLike } from './sinks/http/http-client.js';
export { HttpStatusError, HttpTimeoutError, HttpNetworkError } from './sinks/http/http-errors.js';
export { parseRetryAfter } from './sinks/http/retry-after.js';
export { recordKey } from './sinks/http/idempotency-key.js';
export { limitConcurrency } from './sinks/http/limit-concurrency.js';
export { lookup, type Enriched, type LookupOptions } from './lookups/lookup.js';
