/**
 * `npm run bench:failover`: what a failover costs a table of BENCH_COUNT (default 1,000,000) keys on the
 * memory store, with standby replicas (`standbys: 1`) and without. Two workers of one app share a source
 * topic of BENCH_PARTITIONS (default 6) partitions holding one record per key; each counts its records
 * into the table (`updateTable`). Once everything is committed (and, with standbys, once the survivor's
 * standby copies have reached the changelog's end), the other worker is killed: on Kafka (the default;
 * scripts/services.sh or RIVULET_KAFKA_BROKERS) it is a child process that gets SIGKILL, on `memory://`
 * (BENCH_KAFKA=0) its transport crashes. The survivor takes its partitions over; the bench reports the
 * restore (changelog records replayed and the time from "restoring" to "restored", from the survivor's
 * own log lines), the time from the kill until the survivor serves every partition (on Kafka mostly the
 * session timeout, here BENCH_SESSION_TIMEOUT_MS, default 6000), and checks the table holds every key.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  MemoryBroker,
  MemoryTransport,
  createApp,
  json,
  silentLogger,
  updateTable,
  type Logger,
  type Transport,
} from '../lib/index.js';
import { KafkaTransport } from '../lib/kafka.js';
import { waitFor, waitForCommitted } from '../lib/testing/index.js';
import { machine } from './machine.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const KAFKA = process.env.BENCH_KAFKA !== '0';
const BROKERS = (process.env.RIVULET_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const SESSION_TIMEOUT_MS = Number(process.env.BENCH_SESSION_TIMEOUT_MS ?? 6000);
const STANDBY_POLL_MS = 500;

const ms = (value: number): string =>
  value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value).toLocaleString('en-US')} ms`;
const n = (value: number): string => value.toLocaleString('en-US');

function kafkaTransport(): KafkaTransport {
  return new KafkaTransport({
    brokers: BROKERS,
    clientId: 'bench-failover',
    logger: silentLogger,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: Math.max(500, Math.floor(SESSION_TIMEOUT_MS / 6)),
  });
}

/** One worker of the app: counts the source's records into a table of one key per record. */
function worker(transport: Transport, appId: string, topic: string, standbys: number, logger: Logger) {
  const app = createApp({ id: appId, transport, logger });
  const source = app.topic<number>(topic, { value: json(), partitions: PARTITIONS });
  const totals = app.table<number>('totals', { standbys, standbyPollMs: STANDBY_POLL_MS });
  app.agent('fill', source, (record$) => record$.pipe(updateTable(totals, (_, message) => message.value)), {
    commitIntervalMs: 200,
  });
  return { app, totals };
}

/** A logger that keeps the survivor's restore lines (with when they were logged) and drops the rest. */
function restoreLog(): Logger & { lines: { at: number; message: string; records?: number }[] } {
  const lines: { at: number; message: string; records?: number }[] = [];
  const keep = (fields: object, message?: string): void => {
    if (message?.startsWith('restoring table') || message === 'table partitions restored')
      lines.push({ at: performance.now(), message, records: (fields as { records?: number }).records });
  };
  return { lines, debug: () => {}, info: keep, warn: keep, error: keep };
}

async function produceSource(transport: Transport, topic: string): Promise<void> {
  const started = performance.now();
  const chunk = 10_000;
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < COUNT; start += chunk) {
    const records = Array.from({ length: Math.min(chunk, COUNT - start) }, (_, i) => ({
      topic,
      key: Buffer.from(`key-${String(start + i).padStart(9, '0')}`),
      value: Buffer.from(String(start + i)),
    }));
    inFlight.push(transport.produce(records));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  console.log(`source: ${n(COUNT)} records produced in ${ms(performance.now() - started)}`);
}

/** The victim on Kafka: a child process running the other worker until it is killed. */
async function child(): Promise<void> {
  const { BENCH_APP, BENCH_TOPIC, BENCH_STANDBYS } = process.env;
  const { app } = worker(kafkaTransport(), BENCH_APP!, BENCH_TOPIC!, Number(BENCH_STANDBYS), silentLogger);
  await app.start();
  process.send!('started');
}

interface Victim {
  kill(): Promise<void>;
}

async function startVictim(
  appId: string,
  topic: string,
  standbys: number,
  broker: MemoryBroker | undefined,
): Promise<Victim> {
  if (broker) {
    const transport = new MemoryTransport(broker);
    const { app } = worker(transport, appId, topic, standbys, silentLogger);
    await app.start();
    return {
      kill: async () => {
        await transport.crash();
        void app.stop().catch(() => undefined);
      },
    };
  }
  const process_ = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_CHILD: 'worker',
      BENCH_APP: appId,
      BENCH_TOPIC: topic,
      BENCH_STANDBYS: String(standbys),
    },
  });
  await new Promise<void>((resolve, reject) => {
    process_.once('message', () => resolve());
    process_.once('exit', (code) => reject(new Error(`the victim exited (${code})`)));
  });
  return {
    kill: async () => {
      const exited = new Promise((resolve) => process_.once('exit', resolve));
      process_.kill('SIGKILL');
      await exited;
    },
  };
}

async function failover(topic: string, standbys: number, broker: MemoryBroker | undefined): Promise<void> {
  const appId = `bench-failover-${standbys}-${Date.now().toString(36)}`;
  const changelog = `${appId}-totals-changelog`;
  const log = restoreLog();
  const transport = broker ? new MemoryTransport(broker) : kafkaTransport();
  const survivor = worker(transport, appId, topic, standbys, log);
  const started = performance.now();
  const victim = await startVictim(appId, topic, standbys, broker);
  await survivor.app.start();
  await waitForCommitted(survivor.app, { timeoutMs: 600_000 });
  const filled = performance.now();
  const owned = survivor.totals.ownedPartitions();
  if (owned.length === 0 || owned.length === PARTITIONS)
    throw new Error(`the survivor owns ${owned.length} partitions: no failover to measure`);
  if (standbys > 0) {
    const ends = new Map((await transport.endOffsets(changelog)).map((e) => [e.partition, e.offset]));
    await waitFor(
      () =>
        (survivor.totals.stats().standbys ?? []).length === PARTITIONS - owned.length &&
        survivor.totals.stats().standbys!.every((s) => s.position === ends.get(s.partition)),
      { timeoutMs: 600_000 },
    );
  }
  const warm = performance.now();
  log.lines.length = 0;
  const killed = performance.now();
  await victim.kill();
  await waitFor(
    () =>
      survivor.totals.ownedPartitions().length === PARTITIONS && survivor.totals.stats().state === 'ready',
    { timeoutMs: 600_000 },
  );
  const serving = performance.now();
  const keys = survivor.totals.stats().partitions.reduce((sum, p) => sum + p.keys, 0);
  if (keys !== COUNT) throw new Error(`the survivor's table holds ${n(keys)} keys, not ${n(COUNT)}`);
  const sample = Math.floor(COUNT / 3);
  if (survivor.totals.get(`key-${String(sample).padStart(9, '0')}`) !== sample)
    throw new Error('the survivor holds a wrong value');
  const begun = log.lines.find((line) => line.message.startsWith('restoring table'));
  const restored = log.lines.filter((line) => line.message === 'table partitions restored');
  const records = restored.reduce((sum, line) => sum + (line.records ?? 0), 0);
  const restoreMs = begun && restored.length ? restored.at(-1)!.at - begun.at : NaN;
  console.log(
    `standbys: ${standbys}: took over ${PARTITIONS - owned.length} of ${PARTITIONS} partitions; restore ${ms(restoreMs)} (${n(records)} changelog records replayed); kill → serving every partition ${ms(serving - killed)}; fill ${ms(filled - started)}${standbys > 0 ? `, standbys warm ${ms(warm - filled)} later` : ''}; ${n(keys)} keys, exact`,
  );
  await survivor.app.stop();
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  console.log(
    `table: ${n(COUNT)} keys, memory store, ${PARTITIONS} partitions, 2 workers, ${KAFKA ? `Kafka ${BROKERS.join(',')}, session timeout ${SESSION_TIMEOUT_MS} ms` : 'memory://'}`,
  );
  const topic = `bench-failover-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const broker = KAFKA ? undefined : new MemoryBroker();
  const transport = broker ? new MemoryTransport(broker) : kafkaTransport();
  await transport.connect();
  await transport.ensureTopics([{ name: topic, partitions: PARTITIONS }]);
  await produceSource(transport, topic);
  await transport.close();
  for (const standbys of [0, 1]) await failover(topic, standbys, broker);
}

if (process.env.BENCH_CHILD === 'worker') await child();
else {
  await main();
  process.exit(0);
}
