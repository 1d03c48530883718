/**
 * `npm run bench`: throughput of topic → mapValue → filterValue → settle on the in-memory broker, and
 * peak RSS, against the same map/filter done by plain RxJS on a Subject (no broker, no acknowledgement):
 * the ratio is what rivulet's bookkeeping costs. One process, one core (Node runs the pipeline on one thread).
 */
import { Subject, filter, map } from 'rxjs';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  filterValue,
  json,
  mapValue,
  silentLogger,
  string,
} from '../lib/index.js';
import { waitFor } from '../lib/testing/index.js';
import { machine } from './machine.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 2_000_000);
const PARTITIONS = 4;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

interface Result {
  readonly rate: number;
  /** RSS just before start (the stored records included) and its peak while processing. */
  readonly rssBeforeMiB: number;
  readonly rssPeakMiB: number;
}

async function rivulet(codec: 'string' | 'json'): Promise<Result> {
  const broker = new MemoryBroker({ defaultPartitions: PARTITIONS });
  const app = createApp({ id: 'bench', transport: new MemoryTransport(broker), logger: silentLogger });
  const records = Array.from({ length: COUNT }, (_, i) => ({
    topic: 'events',
    partition: i % PARTITIONS,
    key: null,
    value: Buffer.from(codec === 'json' ? JSON.stringify({ id: i, user: `u${i % 1000}` }) : `event-${i}`),
  }));
  broker.produce(records);
  if (codec === 'json') {
    const events = app.topic<{ id: number; user: string }>('events', { value: json() });
    app.agent('count', events, (event$) =>
      event$.pipe(
        mapValue((event) => event.id),
        filterValue((id) => id % 2 === 0),
      ),
    );
  } else {
    const events = app.topic('events', { value: string() });
    app.agent('count', events, (event$) =>
      event$.pipe(
        mapValue((event) => event.length),
        filterValue((length) => length % 2 === 0),
      ),
    );
  }
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;
  const started = performance.now();
  await app.start();
  await waitFor(() => app.agents[0]!.stats().settled === COUNT, { timeoutMs: 600_000, intervalMs: 5 });
  const seconds = (performance.now() - started) / 1000;
  const rssPeakMiB = Math.round(peakRss / 2 ** 20);
  await app.stop();
  return { rate: COUNT / seconds, rssBeforeMiB: Math.round(rssBefore / 2 ** 20), rssPeakMiB };
}

function plainRx(): number {
  const values = Array.from({ length: COUNT }, (_, i) => Buffer.from(`event-${i}`));
  const subject = new Subject<Buffer>();
  let kept = 0;
  subject
    .pipe(
      map((bytes) => bytes.toString('utf8').length),
      filter((length) => length % 2 === 0),
    )
    .subscribe(() => kept++);
  const started = performance.now();
  for (const value of values) subject.next(value);
  const seconds = (performance.now() - started) / 1000;
  void kept;
  return COUNT / seconds;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`machine: ${machine()}`);
console.log(`messages: ${COUNT.toLocaleString('en-US')} in ${PARTITIONS} partitions`);
const baseline = plainRx();
const text = await rivulet('string');
const json_ = await rivulet('json');
clearInterval(sampler);
console.log(`plain RxJS map → filter on a Subject (no broker, no acks): ${fmt(baseline)} msg/s`);
console.log(
  `rivulet memory://, string codec, mapValue → filterValue → settle: ${fmt(text.rate)} msg/s ` +
    `(${(text.rate / baseline).toFixed(2)} of plain RxJS), RSS ${text.rssBeforeMiB} MiB before, ${text.rssPeakMiB} MiB peak`,
);
console.log(
  `rivulet memory://, json codec, mapValue → filterValue → settle: ${fmt(json_.rate)} msg/s, ` +
    `RSS ${json_.rssBeforeMiB} MiB before, ${json_.rssPeakMiB} MiB peak`,
);
