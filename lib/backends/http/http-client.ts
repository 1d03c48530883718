import type { ObservableInput } from 'rxjs';

/**
 * A request, in axios' shape: the fields rivulet reads or sets; any other axios option passes through.
 *
 * @example
 * ```ts
 * const request: HttpRequestConfig = { method: 'POST', url: '/send', data: { user: 'u1' } };
 * ```
 */
export interface HttpRequestConfig {
  readonly method?: string;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string | number | boolean>>;
  readonly data?: unknown;
  /** Set by rivulet: aborts the request when it times out or the pipeline stops. */
  readonly signal?: AbortSignal;
}

/**
 * A response, in axios' shape.
 *
 * @example
 * ```ts
 * const response: HttpResponseLike = { status: 200, data: { ok: true }, headers: {} };
 * ```
 */
export interface HttpResponseLike {
  readonly status: number;
  readonly data?: unknown;
  readonly headers?: unknown;
}

/**
 * What rivulet needs of an HTTP client: an axios instance (`axios.create({ baseURL })`), or a fake whose
 * `request` returns an Observable. Errors are read in axios' shape (`error.response.status`,
 * `error.code`).
 *
 * @example
 * ```ts
 * const emailer: HttpClientLike = axios.create({ baseURL: 'http://mailer.internal' });
 * ```
 */
export interface HttpClientLike {
  request(config: HttpRequestConfig): ObservableInput<HttpResponseLike>;
}
