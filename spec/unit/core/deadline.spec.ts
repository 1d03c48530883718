import { expect } from 'chai';
import { withDeadline } from '../../../lib/core/deadline.js';

const timeouts = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

describe('withDeadline (agent stop, app shutdown, a revoked table partition)', () => {
  it("resolves with the promise's value when it comes first, and clears its timer", async () => {
    await Promise.resolve(); // after mocha armed the test's own timeout
    const before = timeouts();
    expect(await withDeadline(Promise.resolve('done'), 60_000, 'late')).to.equal('done');
    expect(timeouts()).to.equal(before);
  });

  it('resolves with the fallback once the time is up, whatever the promise does later', async () => {
    const never = new Promise<string>(() => undefined);
    expect(await withDeadline(never, 5, 'late')).to.equal('late');
  });

  it("rejects with the promise's error, and clears its timer", async () => {
    await Promise.resolve(); // after mocha armed the test's own timeout
    const before = timeouts();
    const failed = withDeadline(Promise.reject(new Error('boom')), 60_000, 'late');
    const error = await failed.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).to.be.instanceOf(Error).with.property('message', 'boom');
    expect(timeouts()).to.equal(before);
  });

  it('with unref, its timer alone keeps the process alive no longer', async () => {
    const never = new Promise<string>(() => undefined);
    const hasRef: boolean[] = [];
    const original = globalThis.setTimeout;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const timer = original(...args);
      queueMicrotask(() => hasRef.push(timer.hasRef()));
      return timer;
    }) as typeof setTimeout;
    try {
      await Promise.all([withDeadline(never, 5, 'late', { unref: true }), withDeadline(never, 5, 'late')]);
    } finally {
      globalThis.setTimeout = original;
    }
    expect(hasRef).to.deep.equal([false, true]);
  });
});
