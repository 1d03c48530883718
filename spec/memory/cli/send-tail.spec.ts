import { expect } from 'chai';
import { AppModuleError, CliUsageError } from '../../../lib/cli/cli-errors.js';
import { parseHeaders, sendCommand } from '../../../lib/cli/commands/send.js';
import { tailCommand } from '../../../lib/cli/commands/tail.js';
import { loadApp } from '../../../lib/cli/load-app.js';
import { MemoryBroker, MemoryTransport, type TransportRecord, json } from '../../../lib/index.js';
import { waitFor } from '../../../lib/testing/index.js';

/**
 * memory:// lives inside one process, so `send` and `tail` are tested in-process: each command gets its
 * own client of one shared MemoryBroker, as two CLI runs would get two clients of one Kafka cluster.
 */
describe('rivulet send and tail (in-process, memory broker)', () => {
  let broker: MemoryBroker;
  const connect = async (): Promise<MemoryTransport> => new MemoryTransport(broker);

  beforeEach(() => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
  });

  it('send produces the JSON value with key and headers, readable by an app topic codec', async () => {
    const metadata = await sendCommand(
      {
        topic: 'orders',
        json: '{"user":"u1","quantity":10}',
        key: 'u1',
        headers: ['source=cli', 'trace=a=b'],
      },
      connect,
    );
    expect(metadata).to.deep.equal({ topic: 'orders', partition: 0, offset: 0 });
    const [record] = await readAll('orders');
    expect(record!.key?.toString()).to.equal('u1');
    expect(json().decode(record!.value!)).to.deep.equal({ user: 'u1', quantity: 10 });
    expect(record!.headers).to.deep.equal({ source: 'cli', trace: 'a=b' });
  });

  it('tail --from-beginning prints one JSON line per record and stops after --max', async () => {
    await sendCommand({ topic: 'orders', json: '{"n":1}', key: 'a' }, connect);
    await sendCommand({ topic: 'orders', json: '"plain"' }, connect);
    await sendCommand({ topic: 'orders', json: '{"n":3}' }, connect);
    const lines: string[] = [];
    const printed = await tailCommand(
      { topic: 'orders', fromBeginning: true, max: 2 },
      { write: (line) => lines.push(line), connect },
    );
    expect(printed).to.equal(2);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).to.deep.equal([
      { partition: 0, offset: 0, key: 'a', value: { n: 1 }, headers: {}, timestamp: timestampOf(lines[0]!) },
      { partition: 0, offset: 1, key: null, value: 'plain', headers: {}, timestamp: timestampOf(lines[1]!) },
    ]);
    expect(lines.every((line) => line.endsWith('\n'))).to.equal(true);
  });

  it('tail without --from-beginning prints only what is produced after it started, until aborted', async () => {
    await sendCommand({ topic: 'orders', json: '{"old":true}' }, connect);
    const lines: string[] = [];
    const abort = new AbortController();
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    const tailing = tailCommand(
      { topic: 'orders', signal: abort.signal },
      { write: (line) => lines.push(line), onReady: ready, connect },
    );
    await started;
    await sendCommand({ topic: 'orders', json: '{"new":true}' }, connect);
    await waitForLines(lines, 1);
    abort.abort();
    expect(await tailing).to.equal(1);
    expect(JSON.parse(lines[0]!)).to.include({ offset: 1 }).and.to.have.deep.property('value', { new: true });
  });

  it('refuses bad input with CliUsageError', async () => {
    let error: unknown;
    await sendCommand({ topic: 't', json: '{oops' }, connect).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(CliUsageError);
    expect(() => parseHeaders(['novalue'])).to.throw(CliUsageError, 'name=value');
    await tailCommand({ topic: 't', max: 0 }, { write: () => {}, connect }).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(CliUsageError).and.have.property('message').that.contains('--max');
  });

  it('loadApp finds the default export or `app`, and names a module without one', async () => {
    expect((await loadApp('spec/fixtures/tiny-app.ts')).id).to.equal('tiny');
    let error: unknown;
    await loadApp('spec/fixtures/no-app.ts').catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(AppModuleError);
    await loadApp('spec/fixtures/missing.ts').catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(AppModuleError).and.have.property('message').that.contains('Cannot load');
  });

  /** Every record of a one-partition topic, read by a plain consumer. */
  async function readAll(topic: string): Promise<TransportRecord[]> {
    const records: TransportRecord[] = [];
    const consumer = await new MemoryTransport(broker).consume(
      { groupId: 'reader', topics: [topic] },
      { onBatch: (batch) => void records.push(...batch.records) },
    );
    const end = broker.endOffset(topic, 0);
    await waitFor(() => records.length >= end, { description: `${end} record(s)` });
    await consumer.stop();
    return records;
  }
});

function timestampOf(line: string): number {
  return (JSON.parse(line) as { timestamp: number }).timestamp;
}

async function waitForLines(lines: readonly string[], count: number): Promise<void> {
  await waitFor(() => lines.length >= count, { description: `${count} line(s)` });
}
