import { expect } from 'chai';
import { map } from 'rxjs';
import type { Message } from '../../../../lib/index.js';
import {
  type HttpRequestConfig,
  type HttpResponseLike,
  HttpStatusError,
  lookupHttp,
} from '../../../../lib/http.js';
import { testPipeline } from '../../../../lib/testing/index.js';
import { marbles } from '../../../support/marbles.js';

interface Quote {
  readonly price: number;
}

describe('lookupHttp', () => {
  it('enriches each message with the response body; retries a 503 before answering', () => {
    marbles().run(({ cold, expectObservable }) => {
      const prices: Record<string, number> = { ACME: 12.5, INIT: 3 };
      let calls = 0;
      const client = {
        request: (config: HttpRequestConfig) =>
          ++calls === 1
            ? cold<HttpResponseLike>('-#', undefined, {
                isAxiosError: true,
                response: { status: 503, headers: {} },
              })
            : cold('-(r|)', { r: { status: 200, data: { price: prices[config.url!.slice(7)] } } }),
      };
      const run = testPipeline(
        lookupHttp<string, string | null, Quote>(client, ({ value }) => ({ url: `/quote/${value}` }), {
          retry: { retries: 2, backoff: { initialDelayMs: 10, jitter: false } },
        }),
        cold('a|', { a: 'ACME' }),
      );
      expectObservable(run.output.pipe(map((message: Message<unknown>) => message.value))).toBe('12ms (a|)', {
        a: { input: 'ACME', result: { price: 12.5 } },
      });
    });
  });

  it('a 404 fails the message with a non-retriable HttpStatusError', () => {
    marbles().run(({ cold, flush }) => {
      const client = {
        request: () =>
          cold<HttpResponseLike>('-#', undefined, {
            isAxiosError: true,
            response: { status: 404, headers: {} },
          }),
      };
      const run = testPipeline(
        lookupHttp(client, ({ value }: Message<string, string | null>) => ({ url: `/quote/${value}` })),
        cold('a|', { a: 'NOPE' }),
      );
      const errors: unknown[] = [];
      run.failed.subscribe((failure) => errors.push(failure.error));
      flush();
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(HttpStatusError).with.property('retriable', false);
      expect(errors[0]).to.have.property('status', 404);
    });
  });
});
