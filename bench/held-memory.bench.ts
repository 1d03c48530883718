/**
 * `npm run bench:held-memory`: the heap that the record cache's held changes take when the changelog
 * takes nothing (an outage: every changelog produce waits forever), on the embedded memory:// broker.
 * A table agent counts BENCH_RECORDS records (default 80,000, the holds bound at the default
 * `maxInFlight`) over 1000 keys; each record moves on once its change is queued, and its offset stays
 * held. The heap after a full GC, minus the heap before the records were sent, is compared with the
 * same run whose changelog works (the broker's copy of the records and the table's 1000 counts are in
 * both): the difference is what the held changes keep. Each mode runs in a fresh process, alternating
 * over BENCH_ROUNDS rounds (default 2).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  string,
  updateTable,
} from '../lib/index.js';
import { waitFor } from '../lib/testing/index.js';
import type { ProducerRecord, Transport } from '../lib/transports/transport.js';
import { machine } from './machine.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 80_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
type Mode = 'outage' | 'working';

/** The memory transport, whose changelog produces never answer when `outage` is set. */
function transportOf(broker: MemoryBroker, outage: boolean): Transport {
  const inner = new MemoryTransport(broker);
  return new Proxy(inner, {
    get(target, name, receiver) {
      if (name === 'produce')
        return (records: readonly ProducerRecord[]) =>
          outage && records.some((record) => record.topic.endsWith('-changelog'))
            ? new Promise<never>(() => undefined)
            : target.produce(records);
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function child(mode: Mode): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const broker = new MemoryBroker({ defaultPartitions: 6 });
  const app = createApp({
    id: 'held',
    transport: transportOf(broker, mode === 'outage'),
    logger: silentLogger,
  });
  const events = app.topic('events', { value: string(), partitions: 6 });
  const counts = app.table<number>('counts', { value: json(), default: () => 0 });
  app.agent('count', events, (event$) => event$.pipe(updateTable(counts, (n) => n + 1)));
  await app.start();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let start = 0; start < RECORDS; start += 10_000)
    await Promise.all(
      Array.from({ length: Math.min(10_000, RECORDS - start) }, (_, n) =>
        events.send(`v${start + n}`, { key: `key-${(start + n) % 1000}` }),
      ),
    );
  const agent = app.agents[0]!;
  await waitFor(() => agent.stats().settled >= RECORDS, { timeoutMs: 300_000 });
  if (mode === 'working')
    await waitFor(() => counts.stats().partitions.every((partition) => partition.pendingWrites === 0), {
      timeoutMs: 60_000,
    });
  gc();
  return process.memoryUsage().heapUsed - before;
}

const mode = process.env.BENCH_CHILD as Mode | undefined;
if (mode) {
  process.stdout.write(`${await child(mode)}\n`);
  process.exit(0); // the outage's produces never end
} else {
  const run = promisify(execFile);
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  console.log(`machine: ${machine()}`);
  console.log(`${RECORDS.toLocaleString('en-US')} records, 1000 keys, 6 partitions, memory:// broker`);
  for (let round = 0; round < ROUNDS; round++) {
    const grew: Record<Mode, number> = { outage: 0, working: 0 };
    for (const each of ['outage', 'working'] as const) {
      const { stdout } = await run(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)],
        { env: { ...process.env, BENCH_CHILD: each } },
      );
      grew[each] = Number(stdout.trim().split('\n').at(-1));
    }
    const held = grew.outage - grew.working;
    console.log(
      `round ${round + 1}: heap grew ${mib(grew.outage)} MiB with the changelog out, ${mib(grew.working)} MiB with it working: held changes ${mib(held)} MiB, ${Math.round(held / RECORDS)} bytes each`,
    );
  }
}
