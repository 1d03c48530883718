/**
 * `npm run bench:joins`: what a join costs next to a stateless agent, on a real Kafka (scripts/services.sh,
 * or RIVULET_KAFKA_BROKERS). Produced once: BENCH_KEYS (default 1,000) customers into a compacted topic;
 * BENCH_RECORDS (default 200,000) orders of about 200 bytes keyed by customer, and as many payments keyed
 * by payment id (each 100 ms after its order in event time), each topic in BENCH_PARTITIONS (default 6)
 * partitions, event times spread over BENCH_SPAN_MS (default 10 minutes) ending an hour ago. Then, each
 * in a fresh process and group, rotating from round to round (BENCH_ROUNDS, default 2; BENCH_READERS):
 *
 * - `stateless`: orders (JSON) `mapValue → settle`, the baseline of the ratios;
 * - `join-global`: orders `joinTable` against a global table of the customers (restored before the
 *   agent starts, not timed);
 * - `join-table`: orders `joinTable` against a co-partitioned table of the customers, filled from their
 *   topic by an agent of the same app (`updateTable`, changelogged) before the join's agent starts;
 * - `window-join`: `joinStreams(orders, payments)` (inner, within 1 s) + `windowJoin`: both sides copied
 *   to the join topic, applied to the changelogged state, each match emitted and settled.
 *
 * A rate is input records (orders; orders + payments for `window-join`) per second, from the first
 * record to the last one settled (for `window-join`, every record applied and every match settled). Each
 * join reader checks its output at the end: every order joined with its own customer, or with its own
 * payment, once. `BENCH_CPU_PROF=<dir>` profiles every reading (`node --cpu-prof`).
 *
 * The window join's grace covers the whole span of event times and idle expiry is off: stream time is
 * per side, but a copy agent reads its side's partitions a batch at a time, so within a side one partition's
 * copies run ahead of another's, and with a short grace the ones behind would be late. So its state holds
 * every record until the end.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { OperatorFunction } from 'rxjs';
import {
  type App,
  type Message,
  createApp,
  joinStreams,
  joinTable,
  json,
  mapValue,
  silentLogger,
  string,
  type Topic,
  updateTable,
  windowJoin,
} from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { waitFor } from '../lib/testing/index.js';
import { machine } from './machine.js';

const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_RECORDS ?? 200_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const SPAN_MS = Number(process.env.BENCH_SPAN_MS ?? 600_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WITHIN_MS = 1000;
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
/** BENCH_SUFFIX reuses the topics of an earlier run (with the same BENCH_RECORDS and BENCH_KEYS). */
const suffix =
  process.env.BENCH_SUFFIX ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const TOPICS = {
  customers: `bench-joins-customers-${suffix}`,
  orders: `bench-joins-orders-${suffix}`,
  payments: `bench-joins-payments-${suffix}`,
};

interface Customer {
  readonly name: string;
  readonly region: string;
}
interface Order {
  readonly id: number;
  readonly customer: string;
  readonly at: number;
  readonly pad: string;
}
interface Payment {
  readonly order: number;
  readonly amount: number;
  readonly at: number;
}
interface Enriched extends Order {
  readonly region: string;
}
const regionOf = (customer: string): string => `region-${customer.length % 7}-${customer}`;

type Reader = 'stateless' | 'join-global' | 'join-table' | 'window-join';
const LABELS: Record<Reader, string> = {
  stateless: 'stateless (JSON, mapValue → settle)',
  'join-global': 'joinTable, global table',
  'join-table': 'joinTable, co-partitioned table',
  'window-join': 'joinStreams + windowJoin (inner, orders + payments)',
};

const transport = (): KafkaTransport =>
  new KafkaTransport({ brokers: BROKERS, clientId: 'bench-joins', logger: silentLogger });

async function produce(): Promise<number> {
  const app = createApp({ id: `bench-joins-${suffix}`, transport: transport(), logger: silentLogger });
  const customers = app.globalTable<Customer>(TOPICS.customers, { value: json(), partitions: PARTITIONS });
  const orders = app.topic<Order>(TOPICS.orders, { value: json(), partitions: PARTITIONS });
  const payments = app.topic<Payment>(TOPICS.payments, { value: json(), partitions: PARTITIONS });
  await app.start();
  const started = Date.now();
  await customers.topic.sendMany(
    Array.from({ length: KEYS }, (_, k) => ({
      key: `c${k}`,
      value: { name: `customer ${k}`, region: regionOf(`c${k}`) },
    })),
  );
  const base = Date.now() - SPAN_MS - 3_600_000;
  const pad = 'x'.repeat(120);
  const chunk = 10_000;
  for (let start = 0; start < COUNT; start += chunk) {
    const ids = Array.from({ length: Math.min(chunk, COUNT - start) }, (_, n) => start + n);
    const at = (id: number): number => base + Math.floor((id * SPAN_MS) / COUNT);
    // in order, one chunk at a time: event time only moves forward within a partition
    await orders.sendMany(
      ids.map((id) => ({
        key: `c${(id * 7919) % KEYS}`,
        value: { id, customer: `c${(id * 7919) % KEYS}`, at: at(id), pad },
      })),
    );
    await payments.sendMany(
      ids.map((id) => ({ key: `p${id}`, value: { order: id, amount: id % 100, at: at(id) + 100 } })),
    );
  }
  const rate = (2 * COUNT + KEYS) / ((Date.now() - started) / 1000);
  await app.stop();
  return rate;
}

/** What a reading does once its app is set up: wait until `done()`, then check what came out. */
interface Reading {
  /** Input records the rate counts. */
  readonly records: number;
  readonly done: () => boolean;
  /** Throws when the output is wrong. */
  readonly check?: () => void;
}

/** What every reader has: its app, the orders, a clock started by the first record, and a tally of its output. */
interface Context {
  readonly app: App;
  readonly orders: Topic<Order, string>;
  /** Call for each record: the first one starts the clock. */
  readonly seen: () => void;
  /** Call for each order out of the join: `right` when it was joined with its own row. */
  readonly tally: (right: boolean) => void;
}

async function stateless({ app, orders, seen, tally }: Context): Promise<Reading> {
  const agent = app.agent('read', orders, (order$) =>
    order$.pipe(
      mapValue((order) => {
        seen();
        tally(order.customer.length > 0);
        return order.id;
      }),
    ),
  );
  await app.start();
  return { records: COUNT, done: () => agent.stats().settled >= COUNT };
}

async function withTable(reader: 'join-global' | 'join-table', context: Context): Promise<Reading> {
  const { app, orders, seen, tally } = context;
  const joiner = (order: Order, customer: Customer): Enriched => ({ ...order, region: customer.region });
  const key = (m: Message<Order, string | null>): string => {
    seen();
    return m.value.customer;
  };
  let join: OperatorFunction<Message<Order, string | null>, Message<Enriched, string | null>>;
  if (reader === 'join-global') {
    join = joinTable(app.globalTable<Customer>(TOPICS.customers, { value: json() }), joiner, { key });
    await app.start(); // restores the global table: not timed
  } else {
    // fills the table from the customers' topic (co-partitioned with the orders: the same keys, the
    // same partition count) before the join's agent starts (an agent declared now starts at once)
    const customers = app.table<Customer>('customers', { value: json() });
    const load = app.agent('load', app.topic<Customer>(TOPICS.customers, { value: json() }), (customer$) =>
      customer$.pipe(updateTable(customers, (_, m) => m.value)),
    );
    await app.start();
    await waitFor(() => load.stats().settled >= KEYS, {
      timeoutMs: 120_000,
      description: 'the table filled',
    });
    join = joinTable(customers, joiner, { key });
  }
  const agent = app.agent('enrich', orders, (order$) =>
    order$.pipe(
      join,
      mapValue((order) => tally(order.region === regionOf(order.customer))),
    ),
  );
  return { records: COUNT, done: () => agent.stats().settled >= COUNT };
}

async function windowed({ app, orders, seen, tally }: Context): Promise<Reading> {
  const payments = app.topic<Payment>(TOPICS.payments, { value: json() });
  const paid = joinStreams(app, 'paid', orders, payments, {
    within: WITHIN_MS,
    graceMs: SPAN_MS + WITHIN_MS, // see the file's comment
    idleAfterMs: 3_600_000,
    leftKey: (m) => {
      seen();
      return String(m.value.id);
    },
    rightKey: (m) => {
      seen();
      return String(m.value.order);
    },
    leftTime: (m) => m.value.at,
    rightTime: (m) => m.value.at,
  });
  const agent = app.agent('match', paid.topic, (side$) =>
    side$.pipe(
      windowJoin(paid, (order, payment) =>
        tally(order.id === payment.order && payment.at - order.at === 100),
      ),
    ),
  );
  await app.start();
  return {
    records: 2 * COUNT,
    done: () => agent.stats().settled >= 2 * COUNT && paid.stats().settled >= COUNT,
    check: () => {
      const { lateDeadLettered, emitted } = paid.stats();
      if (lateDeadLettered > 0 || emitted !== COUNT)
        throw new Error(`${lateDeadLettered} late records, ${emitted} results emitted of ${COUNT}`);
    },
  };
}

/** One reading in this process: its rate, after checking that every order came out once, joined right. */
async function read(reader: Reader, round: number): Promise<number> {
  const app = createApp({
    id: `bench-joins-${reader}-${suffix}-${round}-${Date.now().toString(36)}`, // a fresh group even with BENCH_SUFFIX
    transport: transport(),
    logger: silentLogger,
  });
  let started = 0;
  let joined = 0;
  let wrong = 0;
  const context: Context = {
    app,
    orders: app.topic<Order, string>(TOPICS.orders, { value: json(), key: string() }),
    seen: () => {
      if (started === 0) started = Date.now();
    },
    tally: (right) => {
      joined++;
      if (!right) wrong++;
    },
  };
  const reading =
    reader === 'stateless'
      ? await stateless(context)
      : reader === 'window-join'
        ? await windowed(context)
        : await withTable(reader, context);
  await waitFor(reading.done, { timeoutMs: 900_000, intervalMs: 5, description: reader });
  const rate = reading.records / ((Date.now() - started) / 1000);
  try {
    reading.check?.();
    if (joined !== COUNT || wrong !== 0)
      throw new Error(`${joined} orders joined of ${COUNT}, ${wrong} wrongly`);
  } finally {
    await app.stop();
  }
  return rate;
}

const fmt = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} msg/s`;

const child = process.env.BENCH_CHILD as Reader | undefined;
if (child) {
  // One reader in a fresh process: no JIT, heap or connection state carried over from another reader.
  process.stdout.write(
    `${JSON.stringify({ rate: await read(child, Number(process.env.BENCH_ROUND ?? 0)) })}\n`,
  );
} else {
  console.log(`machine: ${machine()}`);
  if (!process.env.BENCH_SUFFIX)
    console.log(`produced (customers, orders, payments): ${fmt(await produce())}`);
  console.log(
    `${COUNT.toLocaleString('en-US')} orders of ~200 bytes and as many payments, ${KEYS} customers, ${PARTITIONS} partitions, topics *-${suffix}`,
  );
  const READERS = (process.env.BENCH_READERS?.split(',') ?? [
    'stateless',
    'join-global',
    'join-table',
    'window-join',
  ]) as Reader[];
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
    : [];
  const rates = new Map<Reader, number[]>(READERS.map((reader) => [reader, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const reader of READERS.map((_, i) => READERS[(i + round) % READERS.length]!)) {
      const { stdout } = await run(
        process.execPath,
        [...profile, '--import', 'tsx', fileURLToPath(import.meta.url)],
        {
          env: { ...process.env, BENCH_CHILD: reader, BENCH_ROUND: String(round), BENCH_SUFFIX: suffix },
          maxBuffer: 1 << 20,
        },
      );
      const { rate } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rate: number };
      rates.get(reader)!.push(rate);
      console.log(`round ${round + 1}: ${LABELS[reader]}: ${fmt(rate)}`);
    }
  }
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  for (const reader of READERS) console.log(`mean ${LABELS[reader]}: ${fmt(mean(rates.get(reader)!))}`);
  // The ratio of the means, and its range over the rounds (a round's pair ran close together).
  const base = rates.get('stateless');
  if (base)
    for (const reader of READERS.filter((r) => r !== 'stateless')) {
      const rounds = rates.get(reader)!.map((rate, i) => rate / base[i]!);
      console.log(
        `ratio ${reader} / stateless: ${(mean(rates.get(reader)!) / mean(base)).toFixed(2)} (rounds ${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)})`,
      );
    }
}
