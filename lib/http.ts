/**
 * HTTP sink and lookup for the application's own axios instance: `rivulet/http`.
 * @module
 */
export { toHttp, type ToHttpOptions } from './backends/http/to-http.js';
export { lookupHttp } from './backends/http/lookup-http.js';
export { httpCall, type HttpCallOptions } from './backends/http/http-request.js';
export type { HttpClientLike, HttpRequestConfig, HttpResponseLike } from './backends/http/http-client.js';
export { HttpStatusError, HttpTimeoutError, HttpNetworkError } from './backends/http/http-errors.js';
export { parseRetryAfter } from './backends/http/retry-after.js';
export { recordKey } from './backends/http/idempotency-key.js';
export { limitConcurrency } from './backends/http/limit-concurrency.js';
export { lookup, type Enriched, type LookupOptions } from './lookups/lookup.js';
