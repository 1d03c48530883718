import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { bufferTime, delay, filter, tap } from 'rxjs';
import { MemoryBroker, MemoryTransport, createApp, filterValue, json } from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { capturingLogger } from '../support/audit.js';

// Issue 16 finding 7: a message dropped by a plain filter was first mentioned 30 s later, by the stall
// warning, which does not say filterValue.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Item {
  readonly id: number;
}

async function run(pipelineOf: 'filter' | 'filterValue' | 'slow' | 'restart') {
  const logger = capturingLogger();
  const broker = new MemoryBroker({ defaultPartitions: 1 });
  const app = createApp({ id: 'drops', transport: new MemoryTransport(broker), logger });
  const items = app.topic<Item>('items', { value: json() });
  let thrown: string | undefined;
  app.agent('keep-even', items, (item$) =>
    pipelineOf === 'filter'
      ? item$.pipe(filter((m) => m.value.id % 2 === 0))
      : pipelineOf === 'slow'
        ? item$.pipe(delay(1_500), bufferTime(1_500)) // held by timers and a buffer: in the pipeline, not dropped
        : pipelineOf === 'restart'
          ? item$.pipe(
              tap((m) => {
                if (m.value.id === 1 && !thrown) throw new Error((thrown = 'once'));
              }),
              delay(200), // records in process when the pipeline restarts: pushed again, not dropped
            )
          : item$.pipe(filterValue((item) => item.id % 2 === 0)),
  );
  await app.start();
  await items.sendMany([0, 1, 2, 3, 4].map((id) => ({ value: { id } })));
  const dropped = () => logger.lines.filter((line) => line.message?.startsWith('dropped:'));
  return { app, logger, dropped };
}

describe('a message dropped without settling (issue 16 finding 7)', () => {
  it('a plain filter: the record it dropped is named within seconds, with filterValue, long before the stall warning', async function () {
    this.timeout(20_000);
    const { app, dropped } = await run('filter');
    try {
      const started = Date.now();
      await waitFor(
        () => {
          gc();
          return dropped().length >= 2;
        },
        { timeoutMs: 10_000, intervalMs: 100, description: 'the two dropped records reported' },
      );
      expect(Date.now() - started).to.be.below(5_000);
      const named = dropped().map((line) => line.fields as { offset: number });
      expect(named.sort((a, b) => a.offset - b.offset)).to.deep.equal([
        { agent: 'keep-even', topic: 'items', partition: 0, offset: 1 },
        { agent: 'keep-even', topic: 'items', partition: 0, offset: 3 },
      ]);
      const first = dropped().find((line) => (line.fields as { offset: number }).offset === 1)!.message;
      expect(first).to.match(/^dropped: items\[0\]@1 left the pipeline without settling/);
      expect(first).to.include('use filterValue');
      // reported once each
      gc();
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect(dropped()).to.have.length(2);
    } finally {
      await app.stop();
    }
  });

  const unreported = {
    filterValue: 'filterValue settles what it drops: it is',
    slow: 'messages held for seconds by delay and bufferTime are',
    restart: 'the messages of a pipeline that restarts (pushed again) are',
  };
  for (const pipeline of ['filterValue', 'slow', 'restart'] as const)
    it(`${unreported[pipeline]} not reported`, async function () {
      this.timeout(20_000);
      const { app, dropped, logger } = await run(pipeline);
      try {
        // garbage collections and checks all along, until everything is committed and a bit after
        const collecting = setInterval(gc, 100);
        try {
          await waitForCommitted(app, { timeoutMs: 10_000 });
          await new Promise((resolve) => setTimeout(resolve, 2_200));
        } finally {
          clearInterval(collecting);
        }
        expect(dropped()).to.deep.equal([]);
        const warnings = logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
        expect(warnings).to.deep.equal(
          pipeline === 'restart'
            ? [
                'the pipeline failed on a message; the message goes to the error policy and the pipeline restarts',
              ]
            : [],
        );
      } finally {
        await app.stop();
      }
    });
});
