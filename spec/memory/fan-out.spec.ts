import { expect } from 'chai';
import { map, merge, mergeMap, of, share, timer } from 'rxjs';
import {
  DEAD_LETTER_HEADERS,
  MemoryBroker,
  MemoryTransport,
  MessageReusedError,
  createApp,
  filterValue,
  json,
  shareMessages,
  silentLogger,
  sink,
  type App,
  type Message,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { Handled, auditCommits, capturingLogger, writtenOrDeadLettered } from '../support/audit.js';

// Issue 16, finding 3: fan-out to several sinks, and a message object reused outside it.

interface Item {
  readonly id: number;
}
type ItemMessage = Message<Item, string | null>;

async function send(app: App, count: number): Promise<void> {
  const items = app.topic<Item>('items', { value: json() });
  await items.sendMany(Array.from({ length: count }, (_, i) => ({ value: { id: i } })));
}

function deadLetters(broker: MemoryBroker): { id: number; name: string; error: string }[] {
  return broker.read('items.dlq', 0, 0, 1000).map((record) => ({
    id: (JSON.parse(record.value!.toString()) as Item).id,
    name: record.headers[DEAD_LETTER_HEADERS.errorName]!,
    error: record.headers[DEAD_LETTER_HEADERS.error]!,
  }));
}

/** A sink that records what it wrote; its writes wait while `gate` is closed, and may refuse ids. */
function recordingSink(name: string, options: { refuse?: number; gated?: boolean } = {}) {
  const written = new Handled();
  const ids: number[] = [];
  let open = !options.gated;
  const waiting: (() => void)[] = [];
  const operator = sink<Item, string | null>(
    async (batch) => {
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      if (batch.some((m) => m.value.id === options.refuse))
        throw new Error(`${name} refuses ${options.refuse}`);
      for (const m of batch) {
        written.add(m.topic, m.partition, m.offset);
        ids.push(m.value.id);
      }
    },
    { name: `${name}-${Math.random()}`, retry: { retries: 0 }, maxBatchSize: 1 },
  );
  return {
    operator,
    written,
    ids,
    release() {
      open = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

/** Handled when both sinks wrote it. */
const both = (a: Handled, b: Handled): Pick<Handled, 'has'> => ({
  has: (topic, partition, offset) => a.has(topic, partition, offset) && b.has(topic, partition, offset),
});

describe('fan-out to several sinks (issue 16, finding 3)', () => {
  it('shareMessages: both sinks write every record, and an offset commits only once both did', async () => {
    const broker = new MemoryBroker();
    const fast = recordingSink('fast');
    const slow = recordingSink('slow', { gated: true });
    const { transport, violations, commits } = auditCommits(
      new MemoryTransport(broker),
      both(fast.written, slow.written),
    );
    const app = createApp({ id: 'fan-out', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('both', items, (item$) => {
      const shared$ = item$.pipe(shareMessages());
      return merge(shared$.pipe(fast.operator), shared$.pipe(slow.operator));
    });
    await app.start();
    await send(app, 5);
    await waitFor(() => fast.ids.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 150)); // several commit intervals
    expect(commits).to.deep.equal([]);
    slow.release();
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    expect(fast.ids).to.deep.equal([0, 1, 2, 3, 4]);
    expect(slow.ids).to.deep.equal([0, 1, 2, 3, 4]);
    expect(deadLetters(broker)).to.deep.equal([]);
    expect(app.agents[0]!.stats().settled).to.equal(5);
  });

  it('a branch that filters a record on purpose has settled it: it commits once the other branch wrote it', async () => {
    const broker = new MemoryBroker();
    const all = recordingSink('all');
    const even = recordingSink('even');
    const filteredOut = new Handled();
    const handled = {
      has: (t: string, p: number, o: number) =>
        all.written.has(t, p, o) && (even.written.has(t, p, o) || filteredOut.has(t, p, o)),
    };
    const { transport, violations } = auditCommits(new MemoryTransport(broker), handled);
    const app = createApp({ id: 'fan-out-filter', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('split', items, (item$) => {
      const shared$ = item$.pipe(shareMessages());
      const evens$ = shared$.pipe(
        filterValue((item, m) => {
          if (item.id % 2 === 0) return true;
          filteredOut.add(m.topic, m.partition, m.offset);
          return false;
        }),
        even.operator,
      );
      return merge(shared$.pipe(all.operator), evens$);
    });
    await app.start();
    await send(app, 4);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    expect(all.ids).to.deep.equal([0, 1, 2, 3]);
    expect(even.ids).to.deep.equal([0, 2]);
  });

  it('one branch failing sends the record to the error policy once: retried, then dead-lettered, never committed early', async () => {
    const broker = new MemoryBroker();
    const good = recordingSink('good');
    const bad = recordingSink('bad', { refuse: 1 });
    const bothOrDead = writtenOrDeadLettered(new Handled(), broker, 'items.dlq');
    const { transport, violations } = auditCommits(new MemoryTransport(broker), {
      has: (t, p, o) => both(good.written, bad.written).has(t, p, o) || bothOrDead.has(t, p, o),
    });
    const app = createApp({ id: 'fan-out-fail', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    const agent = app.agent(
      'both',
      items,
      (item$) => {
        const shared$ = item$.pipe(shareMessages());
        return merge(shared$.pipe(good.operator), shared$.pipe(bad.operator));
      },
      { errors: { retries: 1, backoff: { initialDelayMs: 1, jitter: false } } },
    );
    await app.start();
    await send(app, 3);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    expect(deadLetters(broker).map((d) => [d.id, d.name])).to.deep.equal([[1, 'SinkError']]);
    expect(agent.stats().retried).to.equal(1);
    // the retry ran the record through every branch again: the good sink wrote it twice (at least once)
    expect(good.ids.filter((id) => id === 1)).to.have.length(2);
    expect(bad.ids).to.deep.equal([0, 2]);
  });

  it('mergeMap((m) => [m, m]) whose first branch settles synchronously dead-letters the record with MessageReusedError, never a silent commit', async () => {
    const broker = new MemoryBroker();
    const dead = writtenOrDeadLettered(new Handled(), broker, 'items.dlq');
    const { transport, violations } = auditCommits(new MemoryTransport(broker), dead);
    const app = createApp({ id: 'fan-out-twice', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('twice', items, (item$) => item$.pipe(mergeMap((m) => [m, m])));
    await app.start();
    await send(app, 2);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    const letters = deadLetters(broker);
    expect(letters.map((d) => [d.id, d.name])).to.deep.equal([
      [0, 'MessageReusedError'],
      [1, 'MessageReusedError'],
    ]);
    expect(letters[0]!.error).to.contain('the end of the pipeline received the message of items[0]@0');
  });

  it('a plain share() to two sinks names shareMessages in its MessageReusedError; nothing is committed unwritten', async () => {
    const broker = new MemoryBroker();
    const a = recordingSink('a');
    const b = recordingSink('b');
    const dead = writtenOrDeadLettered(new Handled(), broker, 'items.dlq');
    const { transport, violations } = auditCommits(new MemoryTransport(broker), dead);
    const app = createApp({ id: 'fan-out-share', transport, logger: silentLogger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('shared', items, (item$) => {
      const shared$ = item$.pipe(share());
      return merge(shared$.pipe(a.operator), shared$.pipe(b.operator));
    });
    await app.start();
    await send(app, 1);
    await waitForCommitted(app);
    await app.stop();
    expect(violations).to.deep.equal([]);
    const [letter] = deadLetters(broker);
    expect(letter!.name).to.equal('MessageReusedError');
    expect(letter!.error).to.contain('shareMessages()');
  });

  it('a message used again after its record settled is logged as an error naming the record, every time', async () => {
    const broker = new MemoryBroker();
    const logger = capturingLogger();
    const app = createApp({ id: 'fan-out-late', transport: new MemoryTransport(broker), logger });
    const items = app.topic<Item>('items', { value: json() });
    app.agent('late', items, (item$) =>
      item$.pipe(
        mergeMap((m: ItemMessage) =>
          merge(of(m), timer(30).pipe(map(() => m)), timer(60).pipe(map(() => m))),
        ),
      ),
    );
    await app.start();
    await send(app, 1);
    await waitForCommitted(app);
    const reuses = () =>
      logger.lines.filter((line) => line.level === 'error' && line.message?.includes('used again'));
    await waitFor(() => reuses().length === 2);
    await app.stop();
    const { err, offset } = reuses()[0]!.fields as { err: MessageReusedError; offset: number };
    expect(offset).to.equal(0);
    expect(err).to.be.instanceOf(MessageReusedError);
    expect(err.message).to.contain('items[0]@0');
    expect(logger.lines.filter((line) => line.level === 'error')).to.have.length(2);
  });
});
