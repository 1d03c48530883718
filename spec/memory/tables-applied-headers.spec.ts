import { expect } from 'chai';
import {
  CHANGELOG_HEADERS,
  MemoryBroker,
  MemoryTransport,
  createApp,
  silentLogger,
  string,
  updateTable,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { AppliedOffsets } from '../../lib/tables/applied-offsets.js';

const CHANGELOG = 'big-latest-changelog';
/** Values this large make the changelog writer cut its batches (at 512 KiB) between records. */
const BIG = 'x'.repeat(200_000);

describe('tables: the applied offsets a changelog record carries (memory broker)', () => {
  it('name only changes already in the changelog, even when a retried record is applied after later ones', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const transport = new MemoryTransport(broker, { batchSize: 10 });
    // The changelog's produces wait until the test lets them go: the writes pile up meanwhile.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const produce = transport.produce.bind(transport);
    transport.produce = async (records) => {
      if (records.some((r) => r.topic === CHANGELOG)) await gate;
      return produce(records);
    };
    const app = createApp({ id: 'big', transport, logger: silentLogger });
    const events = app.topic('events', { value: string(), partitions: 1 });
    const latest = app.table<string>('latest', { value: string() });
    let failures = 0;
    const agent = app.agent(
      'latest',
      events,
      (event$) =>
        event$.pipe(
          updateTable(
            latest,
            (_current, message) => {
              if (message.offset === 1 && failures++ === 0) throw new Error('once'); // retried later
              return `${BIG}${message.offset}`;
            },
            { key: (message) => `k${message.offset}` }, // a record per change: nothing coalesces
          ),
        ),
      { commitIntervalMs: 1, stallTimeoutMs: 0, errors: { backoff: { initialDelayMs: 5, maxDelayMs: 5 } } },
    );
    for (let i = 0; i < 5; i++) await events.send(`e${i}`);
    await app.start();
    // one fetch: 0 and 2 are being produced (two records of 200 kB fill a produce); 3, 4 wait behind
    // them; 1, retried, is applied after them
    await waitFor(() => latest.stats().partitions[0]?.pendingWrites === 5);
    release();
    await waitFor(() => agent.stats().settled === 5);
    await waitForCommitted(app);

    const records = broker.read(CHANGELOG, 0, 0, broker.endOffsets(CHANGELOG)[0]!.offset);
    // each value names the record that wrote it
    const sources = records.map((r) => Number(r.value!.toString().slice(BIG.length)));
    expect(sources).to.deep.equal([0, 2, 3, 4, 1]);
    const claims = records.map((r) => r.headers[CHANGELOG_HEADERS.applied]);
    // a produce's last record carries them (the batch of 2 and 3 was cut before 4 by its size)
    // a produce's last record carries them, as of its own change: the produces are [0, 2], [3, 4], [1]
    const claimed = claims.map((text) => {
      if (text === undefined) return undefined;
      const applied = AppliedOffsets.decode(text)!;
      // offsets below the floor were committed (after their changes were acknowledged)
      return [0, 1, 2, 3, 4].filter((offset) => offset < applied.floor || applied.has(offset));
    });
    expect(claimed).to.deep.equal([undefined, [0, 2], undefined, [0, 2, 3, 4], [0, 1, 2, 3, 4]]);
    // and names its source record; the records before it in their produce carry no headers
    expect(records.map((r) => r.headers[CHANGELOG_HEADERS.sourceOffset])).to.deep.equal([
      undefined,
      '2',
      undefined,
      '4',
      '1',
    ]);
    expect(records.map((r) => Object.keys(r.headers).length)).to.deep.equal([0, 4, 0, 4, 4]);
    records.forEach((record, i) => {
      const text = record.headers[CHANGELOG_HEADERS.applied];
      if (text === undefined) return;
      const applied = AppliedOffsets.decode(text)!;
      for (let offset = 0; offset < 5; offset++)
        if (applied.has(offset))
          expect(sources.slice(0, i + 1), `record ${i} claims offset ${offset}`).to.include(offset);
    });
    await app.stop();
  });
});
