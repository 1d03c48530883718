import { expect } from 'chai';
import {
  type App,
  type WindowResult,
  type WindowTable,
  aggregateWindows,
  count,
  createApp,
  silentLogger,
  sink,
  tumbling,
} from '../../../lib/index.js';
import { KafkaTransport } from '../../../lib/kafka.js';
import { waitFor } from '../../../lib/testing/index.js';
import { services, uniqueName } from '../support/services.js';

const MINUTE = 60_000;
const GRACE_MS = 2_000;
const IDLE_AFTER_MS = 1_000;

interface Arrival {
  readonly result: WindowResult<string, number>;
  /** Wall-clock time the sink was handed the result. */
  readonly at: number;
}

/** An agent counting a fresh one-partition topic per key in one-minute windows, into a sink that notes when each result arrives. */
async function startCounter(): Promise<{
  app: App;
  send: (key: string, timestamp?: number) => Promise<unknown>;
  perMinute: WindowTable<string, unknown, number>;
  arrivals: Arrival[];
}> {
  const id = uniqueName('idle-close');
  const app = createApp({
    id,
    transport: new KafkaTransport({ brokers: services.kafkaBrokers, clientId: id, logger: silentLogger }),
    logger: silentLogger,
  });
  const events = app.topic<{ n: number }>(`${id}-events`, { partitions: 1 });
  const perMinute = app.windowTable<unknown, number>('per-minute', {
    window: tumbling(MINUTE),
    aggregate: count(),
    graceMs: GRACE_MS,
    idleAfterMs: IDLE_AFTER_MS,
  });
  const arrivals: Arrival[] = [];
  app.agent('count', events, (event$) =>
    event$.pipe(
      aggregateWindows(perMinute),
      sink<WindowResult<string, number>, string>(
        (batch) => {
          for (const { value } of batch) arrivals.push({ result: value, at: Date.now() });
          return Promise.resolve();
        },
        { name: 'arrivals' },
      ),
    ),
  );
  await app.start();
  // the one partition is this worker's and restored once reading a key does not throw
  await waitFor(() => tryGet(perMinute), { timeoutMs: 30_000, description: 'the partition assigned' });
  let n = 0;
  const send = (key: string, timestamp?: number) =>
    events.send({ n: n++ }, { key, ...(timestamp !== undefined ? { timestamp } : {}) });
  return { app, send, perMinute, arrivals };
}

function tryGet(table: WindowTable<string, unknown, number>): boolean {
  try {
    table.get('-');
    return true;
  } catch {
    return false;
  }
}

describe('windows on Kafka: closing an idle partition by the wall clock', function () {
  this.timeout(180_000);
  let app: App | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('events for one minute-window, then nothing: the final results reach the sink within grace + 2 s of its end', async () => {
    const counter = await startCounter();
    app = counter.app;
    // A whole minute-window, live: the events are sent in its first seconds, so the test waits up to a
    // minute for its end. Too close to the end, take the next one.
    let start = Math.floor(Date.now() / MINUTE) * MINUTE;
    if (start + MINUTE - Date.now() < 10_000) {
      start += MINUTE;
      await waitFor(() => Date.now() >= start, { timeoutMs: 15_000, intervalMs: 50 });
    }
    const end = start + MINUTE;
    const sent = { ada: 0, bob: 0 };
    for (let i = 0; i < 30; i++) {
      const key = i % 3 === 0 ? 'bob' : 'ada';
      await counter.send(key);
      sent[key]++;
    }
    expect(Date.now(), 'every event inside the window').to.be.below(end);
    await waitFor(() => counter.arrivals.length >= 2, {
      timeoutMs: end - Date.now() + GRACE_MS + 30_000,
      intervalMs: 20,
      description: 'the two final results',
    });
    const delays = counter.arrivals.map(({ at }) => at - end);
    console.log(
      `      idle close, one-minute window: results reached the sink ${delays.map((d) => `${d} ms`).join(', ')} after the window's end (grace ${GRACE_MS} ms)`,
    );
    expect(
      counter.arrivals.map(({ result }) => [
        result.key,
        result.start,
        result.end,
        result.value,
        result.final,
      ]),
    ).to.have.deep.members([
      ['ada', start, end, sent.ada, true],
      ['bob', start, end, sent.bob, true],
    ]);
    for (const delay of delays) expect(delay).to.be.within(GRACE_MS, GRACE_MS + 2_000);
    // nothing else closes or arrives: one final result per window and key
    await waitFor(() => counter.perMinute.stats().settled === 2, { timeoutMs: 10_000 });
    expect(counter.arrivals).to.have.length(2);
  });

  // A regression: the idle timer was armed once, from the event time of the first record after a close,
  // and later records that moved event time on did not bring it forward: it fired about a window late.
  it('a burst of a whole minute of event time, then nothing: closed within grace + 2 s of the last event, not of the first', async () => {
    const counter = await startCounter();
    app = counter.app;
    // Event time running faster than the wall clock (a backlog, a replay): the first half of a past
    // minute arrives, then, once it is counted, the second half. The idle watermark runs on from the
    // highest event time at the wall clock's pace, so the window [start, end) closes GRACE_MS after the
    // last event (which is 10 ms before its end) arrived.
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    const end = start + MINUTE;
    for (let t = start; t < start + MINUTE / 2; t += 1_000) await counter.send('ada', t);
    await waitFor(() => counter.perMinute.get('ada')[0]?.value === 30, {
      timeoutMs: 30_000,
      description: 'the first half counted',
    });
    for (let t = start + MINUTE / 2; t < end - 1_000; t += 1_000) await counter.send('ada', t);
    await counter.send('ada', end - 10);
    const lastSent = Date.now();
    await waitFor(() => counter.arrivals.length >= 1, {
      timeoutMs: MINUTE + GRACE_MS + 30_000,
      intervalMs: 20,
      description: 'the final result',
    });
    const [arrival] = counter.arrivals;
    const delay = arrival!.at - lastSent;
    console.log(
      `      idle close after a burst: the result reached the sink ${delay} ms after the last event was sent (grace ${GRACE_MS} ms)`,
    );
    expect([arrival!.result.start, arrival!.result.value]).to.deep.equal([start, 60]);
    expect(delay).to.be.within(GRACE_MS - 100, GRACE_MS + 2_000);
  });
});
