import { expect } from 'chai';
import {
  MemoryBroker,
  createApp,
  defaultLogger,
  json,
  silentLogger,
  updateTable,
  type App,
  type ProducerRecord,
  type Table,
  type TableOptions,
} from '../../lib/index.js';
import { waitFor, waitForCommitted } from '../../lib/testing/index.js';
import { ChaosTransport } from './chaos-transport.js';

// The model the property tests of tables share (tables.property.spec.ts, tables-standby.property.spec.ts):
// workers of one app on a shared memory broker, each a `total` agent folding `updates` into the table
// `totals`, some updates failing once on purpose, changelog writes delayed and refused (ChaosTransport);
// the expected table is the fold of everything produced. A spec draws the steps; the model runs them.

export interface Update {
  readonly id: number;
  readonly amount: number;
}
export interface Total {
  readonly count: number;
  readonly sum: number;
}

export interface TablesWorker {
  readonly app: App;
  readonly transport: ChaosTransport;
  readonly totals: Table<string, Total, Total>;
  /** The app's shutdown deadline, changed before a graceful stop. */
  readonly shutdownTimeoutMs: { value: number };
}

/** What a scenario draws that the model uses (a spec's scenario has more: its steps). */
export interface TablesScenario {
  readonly partitions: number;
  readonly keys: number;
  readonly batchSize: number;
  readonly delayMs: number;
  readonly refusals: number;
  /** Per update id: whether its first attempt throws. */
  readonly failFirst: readonly boolean[];
  /** Per update id: its amount. */
  readonly amounts: readonly number[];
}

/** The steps both specs draw (a spec may add its own and run the rest here). */
export type TablesStep =
  | { readonly kind: 'produce'; readonly count: number }
  | { readonly kind: 'start'; readonly slot: number }
  | { readonly kind: 'kill'; readonly slot: number }
  | { readonly kind: 'stop'; readonly slot: number; readonly timeoutMs: number }
  | { readonly kind: 'wait'; readonly ms: number };

/** How many updates a run produces at the most (the length of `failFirst` and `amounts`). */
export const MAX_UPDATES = 200;

export const debug = Boolean(process.env.DEBUG_TABLES);

export class TablesModel {
  readonly broker: MemoryBroker;
  /** The fold of every update produced, by key. */
  readonly expected = new Map<string, Total>();
  /** Every worker started (stopped at the end), and the ones alive by slot. */
  readonly all: TablesWorker[] = [];
  readonly slots: (TablesWorker | undefined)[];
  /** Ids whose update already threw once. */
  readonly #failed = new Set<number>();
  #produced = 0;

  constructor(
    private readonly s: TablesScenario,
    slots: number,
    /** More options of the `totals` table (standbys). */
    private readonly tableOptions: Partial<TableOptions<string, Total>> = {},
  ) {
    this.broker = new MemoryBroker({ defaultPartitions: s.partitions });
    this.slots = Array.from({ length: slots }, () => undefined);
  }

  /** The workers alive, by slot order. */
  live(): TablesWorker[] {
    return this.slots.filter((worker) => worker !== undefined);
  }

  async startWorker(): Promise<TablesWorker> {
    const s = this.s;
    const transport = new ChaosTransport(this.broker, {
      batchSize: s.batchSize,
      delayMs: s.delayMs,
      refusals: s.refusals,
    });
    const shutdownTimeoutMs = { value: 2000 };
    const app = createApp({
      id: 'prop',
      transport,
      logger: debug ? defaultLogger('prop') : silentLogger,
      get shutdownTimeoutMs() {
        return shutdownTimeoutMs.value;
      },
    });
    const updates = app.topic<Update>('updates', { value: json(), partitions: s.partitions });
    const totals = app.table<Total>('totals', {
      default: () => ({ count: 0, sum: 0 }),
      ...this.tableOptions,
    });
    app.agent(
      'total',
      updates,
      (update$) =>
        update$.pipe(
          updateTable(totals, (total, message) => {
            const { id, amount } = message.value;
            if (s.failFirst[id] && !this.#failed.has(id)) {
              this.#failed.add(id);
              throw new Error(`update ${id} fails once (injected)`);
            }
            return { count: total.count + 1, sum: total.sum + amount };
          }),
        ),
      {
        commitIntervalMs: 1,
        stallTimeoutMs: 0,
        errors: { retries: 5, backoff: { initialDelayMs: 1, maxDelayMs: 2 } },
      },
    );
    await app.start();
    const worker = { app, transport, totals, shutdownTimeoutMs };
    this.all.push(worker);
    return worker;
  }

  /** Produces `count` more updates (up to {@link MAX_UPDATES} in all), keys in turn, and folds them. */
  produce(count: number): void {
    const records: ProducerRecord[] = [];
    for (let i = 0; i < count && this.#produced < MAX_UPDATES; i++, this.#produced++) {
      const key = `k${this.#produced % this.s.keys}`;
      const amount = this.s.amounts[this.#produced]!;
      const total = this.expected.get(key) ?? { count: 0, sum: 0 };
      this.expected.set(key, { count: total.count + 1, sum: total.sum + amount });
      records.push({
        topic: 'updates',
        key: Buffer.from(key),
        value: Buffer.from(JSON.stringify({ id: this.#produced, amount })),
      });
    }
    this.broker.produce(records);
  }

  /** Runs one step: produce, wait, start a worker in a free slot, kill one, or stop one gracefully. */
  async run(step: TablesStep): Promise<void> {
    if (debug) console.error(step);
    if (step.kind === 'produce') this.produce(step.count);
    else if (step.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, step.ms));
    else if (step.kind === 'start') this.slots[step.slot] ??= await this.startWorker();
    else {
      const worker = this.slots[step.slot];
      this.slots[step.slot] = undefined;
      if (!worker) return;
      if (step.kind === 'kill') await worker.transport.kill();
      else {
        // A graceful stop with a short deadline: what is not settled by then is left behind.
        worker.shutdownTimeoutMs.value = step.timeoutMs;
        await worker.app.stop();
      }
    }
  }

  /**
   * Once the live workers committed everything and their tables are ready, the rows they own equal the
   * fold of the input, exactly.
   */
  async check(): Promise<void> {
    const workers = this.live();
    await waitForCommitted(workers[0]!.app, { timeoutMs: 10_000 }).catch((error: unknown) => {
      if (debug)
        console.error(
          'NOT COMMITTED',
          JSON.stringify(
            workers.map((w) => [w.totals.stats(), w.app.agents[0]!.stats()]),
            null,
            1,
          ),
          this.broker.committedOffsets('prop.total', 'updates'),
          this.broker.endOffsets('updates'),
        );
      throw error;
    });
    await waitFor(() => workers.every((w) => w.totals.stats().state === 'ready'), { timeoutMs: 5000 });
    const actual = new Map<string, Total>();
    for (const worker of workers)
      for (const partition of worker.totals.ownedPartitions())
        for (const key of worker.totals.keys(partition, { limit: 1000 }).keys)
          actual.set(key, worker.totals.get(key));
    if (debug)
      console.error(
        actual,
        workers.map((w) =>
          [...this.expected.keys()].map((k) => [
            k,
            w.totals.partitionOf(k),
            w.totals.ownsKey(k),
            w.totals.ownsKey(k) && w.totals.get(k),
          ]),
        ),
        workers.map((w) => [w.totals.stats(), w.app.agents[0]!.stats()]),
        this.broker.committedOffsets('prop.total', 'updates'),
        this.broker.endOffsets('updates'),
      );
    expect(Object.fromEntries([...actual].sort())).to.deep.equal(
      Object.fromEntries([...this.expected].sort()),
    );
  }

  /** Stops every worker ever started (a killed one's app too). */
  async stopAll(): Promise<void> {
    if (debug)
      setTimeout(
        () =>
          console.error(
            'STUCK',
            this.all.map((w) => [w.app.agents[0]!.state, w.totals.stats(), w.app.agents[0]!.stats()]),
          ),
        5000,
      ).unref();
    await Promise.all(this.all.map((worker) => worker.app.stop()));
  }
}
