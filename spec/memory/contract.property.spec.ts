import { expect } from 'chai';
import fc from 'fast-check';
import { type Observable, bufferTime, map, pipe, timer } from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  filterValue,
  json,
  mergeMapValue,
  sink,
  silentLogger,
  type Message,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { Handled, auditCommits } from '../support/audit.js';

interface Item {
  readonly id: number;
}

const scenario = fc.record({
  count: fc.integer({ min: 1, max: 250 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  concurrency: fc.integer({ min: 1, max: 16 }),
  maxInFlight: fc.integer({ min: 8, max: 200 }),
  batchMs: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  delays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 250, maxLength: 250 }),
  dropped: fc.array(fc.boolean(), { minLength: 250, maxLength: 250 }),
  crashAfter: fc.option(fc.nat({ max: 250 }), { nil: undefined }),
});

describe('processing contract, property-based (memory broker)', () => {
  it('for random completion orders, filters, batch windows and crash points: nothing lost, no commit passes an unsettled offset', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const broker = new MemoryBroker({ defaultPartitions: s.partitions });
        const handled = new Handled();
        const seen = new Set<number>();
        let handledCount = 0;
        const mark = (message: Message<unknown, unknown>) => {
          handled.add(message.topic, message.partition, message.offset);
          handledCount++;
        };
        const worker = () => {
          const inner = new MemoryTransport(broker, { batchSize: 37 });
          const audited = auditCommits(inner, handled);
          const app = createApp({ id: 'prop', transport: audited.transport, logger: silentLogger });
          const items = app.topic<Item>('items', { value: json() });
          const write = sink<Item, string | null>(
            (batch) => {
              for (const message of batch) {
                seen.add(message.value.id);
                mark(message);
              }
              return timer(0);
            },
            { name: 'record' },
          );
          const batched = (source: Observable<Message<Item, string | null>>) =>
            s.batchMs === undefined ? source.pipe(write) : source.pipe(bufferTime(s.batchMs), write);
          app.agent(
            'agent',
            items,
            pipe(
              filterValue((item: Item, message) => {
                if (s.dropped[item.id]) mark(message);
                return !s.dropped[item.id];
              }),
              mergeMapValue((item: Item) => timer(s.delays[item.id]!).pipe(map(() => item)), {
                concurrency: s.concurrency,
              }),
              batched,
            ),
            { maxInFlight: s.maxInFlight, commitIntervalMs: 1, stallTimeoutMs: 0 },
          );
          return { app, inner, items, violations: audited.violations };
        };

        const first = worker();
        await first.app.start();
        await first.items.sendMany(
          Array.from({ length: s.count }, (_, id) => ({ key: `k${id}`, value: { id } })),
        );
        const workers = [first];
        if (s.crashAfter !== undefined && s.crashAfter < s.count) {
          await waitFor(() => handledCount >= s.crashAfter!, { timeoutMs: 10_000 });
          await first.inner.crash();
          const second = worker();
          workers.push(second);
          await second.app.start();
          await waitForCommitted(second.app, { timeoutMs: 20_000 });
        } else {
          await waitForCommitted(first.app, { timeoutMs: 20_000 });
        }
        await Promise.all(workers.map((w) => w.app.stop()));

        const expected = Array.from({ length: s.count }, (_, id) => id).filter((id) => !s.dropped[id]);
        expect([...seen].sort((a, b) => a - b)).to.deep.equal(expected);
        expect(workers.flatMap((w) => w.violations)).to.deep.equal([]);
        const ends = broker.endOffsets('items');
        expect(broker.committedOffsets('prop.agent', 'items')).to.deep.equal(
          ends.filter((e) => e.offset > 0),
        );
      }),
      { numRuns: 30 },
    );
  });
});
