import axios from 'axios';
import { expect } from 'chai';
import { type Observable, bufferTime } from 'rxjs';
import { type Message, SinkError } from '../../../../lib/index.js';
import {
  type HttpRequestConfig,
  type HttpResponseLike,
  HttpStatusError,
  HttpTimeoutError,
  parseRetryAfter,
  toHttp,
} from '../../../../lib/http.js';
import { testMessage, testPipeline } from '../../../../lib/testing/index.js';
import { marbles } from '../../../support/marbles.js';

type Order = Message<string, string | null>;

/** An axios-shaped error for a status. */
function statusFailure(status: number, headers: Record<string, string> = {}) {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    isAxiosError: true,
    response: { status, headers, data: { error: status } },
  });
}

/** A fake axios instance: `answer` decides each call's cold observable; calls are recorded. */
function fakeHttp(answer: (config: HttpRequestConfig, call: number) => Observable<HttpResponseLike>) {
  const calls: HttpRequestConfig[] = [];
  return {
    calls,
    client: { request: (config: HttpRequestConfig) => answer(config, calls.push(config)) },
  };
}

const send = ({ value }: Order): HttpRequestConfig => ({
  method: 'POST',
  url: '/send',
  data: { order: value },
});
const noJitter = (retries: number) => ({ retries, backoff: { initialDelayMs: 10, jitter: false } });

describe('toHttp', () => {
  it('sends one request per message with an Idempotency-Key from topic/partition/offset, `concurrency` at once', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const durations: Record<string, string> = { o1: '-(r|)', o2: '-----(r|)', o3: '--(r|)' };
      const http = fakeHttp((config) =>
        cold(durations[(config.data as { order: string }).order]!, { r: { status: 202 } }),
      );
      const run = testPipeline(
        toHttp<Order>(http.client, send, { concurrency: 2 }),
        cold('(abc|)', {
          a: testMessage('o1', { topic: 'orders', partition: 3, offset: 40 }),
          b: testMessage('o2', { topic: 'orders', partition: 3, offset: 41 }),
          c: testMessage('o3', { topic: 'orders', partition: 3, offset: 42 }),
        }),
      );
      // o3 only starts when o1 is done (2 in flight): done at 1 + 2 = 3; o2 at 5
      expectObservable(run.settled).toBe('-a-c-(b|)', { a: 40, b: 41, c: 42 });
      flush();
      expect(http.calls.map((call) => call.headers?.['Idempotency-Key'])).to.deep.equal([
        'orders/3/40',
        'orders/3/41',
        'orders/3/42',
      ]);
      expect(http.calls.every((call) => call.signal instanceof AbortSignal)).to.equal(true);
    });
  });

  it('retries a 500 with exponential backoff in virtual time until it succeeds', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const http = fakeHttp((_config, call) =>
        call < 3 ? cold('-#', undefined, statusFailure(500)) : cold('-(r|)', { r: { status: 200 } }),
      );
      const run = testPipeline(
        toHttp<Order>(http.client, send, { retry: noJitter(5) }),
        cold('a|', { a: 'o1' }),
      );
      // fails at 1, retried at 11 (10 ms), fails at 12, retried at 32 (20 ms), succeeds at 33
      expectObservable(run.settled).toBe('33ms (a|)', { a: 0 });
      flush();
      expect(http.calls).to.have.length(3);
    });
  });

  it('honours Retry-After on 429 (seconds) instead of the shorter backoff', () => {
    marbles().run(({ cold, expectObservable }) => {
      const http = fakeHttp((_config, call) =>
        call === 1
          ? cold('-#', undefined, statusFailure(429, { 'Retry-After': '3' }))
          : cold('-(r|)', { r: { status: 200 } }),
      );
      const run = testPipeline(
        toHttp<Order>(http.client, send, { retry: noJitter(5) }),
        cold('a|', { a: 'o1' }),
      );
      // fails at 1, waits 3 s (not 10 ms), succeeds one frame after the retry
      expectObservable(run.settled).toBe('3002ms (a|)', { a: 0 });
    });
  });

  it('does not retry a 400: the message fails with a non-retriable HttpStatusError (dead-lettered)', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const http = fakeHttp(() => cold('-#', undefined, statusFailure(400)));
      const run = testPipeline(
        toHttp<Order>(http.client, send, { retry: noJitter(5) }),
        cold('a|', { a: 'o1' }),
      );
      const cause = new HttpStatusError(400, send(testMessage('o1')));
      expectObservable(run.failed).toBe('-(a|)', {
        a: { partition: 0, offset: 0, error: new SinkError('http', 1, cause) },
      });
      flush();
      expect(http.calls).to.have.length(1);
      let error: unknown;
      run.failed.subscribe((failure) => (error = failure.error));
      flush();
      expect(error).to.be.instanceOf(SinkError).with.property('retriable', false);
    });
  });

  it('a resolved response with an error status (custom validateStatus) counts as a failure too', () => {
    marbles().run(({ cold, expectObservable }) => {
      const http = fakeHttp(() => cold('-(r|)', { r: { status: 404, headers: {} } }));
      const run = testPipeline(toHttp<Order>(http.client, send), cold('a|', { a: 'o1' }));
      const cause = new HttpStatusError(404, send(testMessage('o1')));
      expectObservable(run.failed).toBe('-(a|)', {
        a: { partition: 0, offset: 0, error: new SinkError('http', 1, cause) },
      });
    });
  });

  it('times out a request that hangs, aborts it, and retries', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const http = fakeHttp((_config, call) =>
        call === 1 ? cold<HttpResponseLike>('-') : cold('--(r|)', { r: { status: 200 } }),
      );
      const run = testPipeline(
        toHttp<Order>(http.client, send, { timeoutMs: 50, retry: noJitter(2) }),
        cold('a|', { a: 'o1' }),
      );
      // times out at 50, retried at 60, answered at 62
      expectObservable(run.settled).toBe('62ms (a|)', { a: 0 });
      flush();
      expect(http.calls).to.have.length(2);
      // the hung attempt's signal was aborted; the one that answered was left alone
      expect(http.calls.map((call) => call.signal?.aborted)).to.deep.equal([true, false]);
    });
  });

  it('a batch settles only when all its requests succeeded; one permanent failure fails the batch', () => {
    marbles().run(({ cold, expectObservable }) => {
      const http = fakeHttp((config) =>
        (config.data as { order: string }).order === 'bad'
          ? cold('--#', undefined, statusFailure(422))
          : cold('-(r|)', { r: { status: 200 } }),
      );
      const run = testPipeline(
        (order$: Observable<Order>) =>
          order$.pipe(
            bufferTime(2),
            toHttp(http.client, (message) => send(message)),
          ),
        cold('ab-c-----|', { a: 'ok', b: 'bad', c: 'ok' }),
      );
      const error = new SinkError('http', 1, new HttpStatusError(422, { method: 'POST', url: '/send' }));
      expectObservable(run.failed).toBe('----(ab)-|', {
        a: { partition: 0, offset: 0, error },
        b: { partition: 0, offset: 1, error },
      });
      expectObservable(run.settled).toBe('-----c---|', { c: 2 });
    });
  });

  it('HttpTimeoutError is retriable; 5xx, 408 and 429 are retriable, other 4xx not', () => {
    const request = { url: '/x' };
    expect(new HttpTimeoutError(10, request).retriable).to.equal(true);
    expect(
      [500, 503, 408, 429, 400, 404, 409, 422].map((s) => new HttpStatusError(s, request).retriable),
    ).to.deep.equal([true, true, true, true, false, false, false, false]);
  });

  it('types: accepts an axios instance (compile-time check)', () => {
    const emailer = axios.create({ baseURL: 'http://127.0.0.1:1' });
    const operator = toHttp<Order>(emailer, ({ value }) => ({
      method: 'POST',
      url: '/send',
      data: { value },
    }));
    expect(operator).to.be.a('function');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads seconds and HTTP-dates, ignores garbage', () => {
    expect(parseRetryAfter('2', now)).to.equal(2000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).to.equal(60_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).to.equal(0);
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter(undefined, now)).to.equal(undefined);
  });
});
