import fc from 'fast-check';
import { waitFor } from '../../lib/testing/index.js';
import { MAX_UPDATES, TablesModel, debug } from '../support/tables-model.js';

// The model of tables.property.spec.ts (crashes, graceful stops, rebalances, injected failures and
// refused changelog writes: spec/support/tables-model.ts), with three workers keeping standby replicas,
// and steps that let the standbys catch up or not before a worker dies: whichever copy a partition
// lands on, the table equals the fold of the input.

const SLOTS = 3;
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const step = fc.oneof(
  fc.record({ kind: fc.constant('produce' as const), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('start' as const), slot }),
  fc.record({ kind: fc.constant('start' as const), slot }),
  fc.record({ kind: fc.constant('kill' as const), slot }),
  fc.record({ kind: fc.constant('stop' as const), slot, timeoutMs: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant('catch-up' as const) }),
);

const scenario = fc.record({
  partitions: fc.integer({ min: 1, max: 4 }),
  keys: fc.integer({ min: 1, max: 8 }),
  batchSize: fc.integer({ min: 1, max: 20 }),
  delayMs: fc.integer({ min: 0, max: 3 }),
  refusals: fc.integer({ min: 0, max: 2 }),
  standbys: fc.integer({ min: 1, max: 2 }),
  // Often behind at a takeover (a slow poll), sometimes right behind the owner.
  standbyPollMs: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 100, max: 400 })),
  failFirst: fc.array(fc.boolean(), { minLength: MAX_UPDATES, maxLength: MAX_UPDATES }),
  amounts: fc.array(fc.integer({ min: -5, max: 10 }), { minLength: MAX_UPDATES, maxLength: MAX_UPDATES }),
  steps: fc.array(step, { minLength: 1, maxLength: 14 }),
  /** Workers alive for the last phase, before all but one die at once. */
  finalWorkers: fc.integer({ min: 2, max: SLOTS }),
});

describe('tables with standby replicas, property-based (memory broker)', () => {
  it('after random crashes, stops, rebalances and standby catch-ups among three workers, the table equals the fold of the input exactly', async function () {
    this.timeout(60_000); // about 7 s when it holds; shrinking a failure takes longer
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const model = new TablesModel(s, SLOTS, { standbys: s.standbys, standbyPollMs: s.standbyPollMs });

        /** Every live worker's standbys reached the changelog's end (or 2 s passed: a step, not a check). */
        const catchUp = async (): Promise<void> => {
          const ends = new Map(
            model.broker.endOffsets('prop-totals-changelog').map((e) => [e.partition, e.offset]),
          );
          await waitFor(
            () =>
              model
                .live()
                .every((w) =>
                  (w.totals.stats().standbys ?? []).every((sb) => sb.position === ends.get(sb.partition)),
                ),
            { timeoutMs: 2000 },
          ).catch(() => undefined);
        };

        try {
          for (const action of s.steps) {
            if (action.kind === 'catch-up') await catchUp();
            else await model.run(action);
          }
          const { slots } = model;
          for (let i = 0; i < SLOTS && model.live().length < s.finalWorkers; i++)
            slots[i] ??= await model.startWorker();
          model.produce(30);
          await model.check();
          // Then every worker but one dies at once: the survivor takes their partitions over, from
          // whatever copies it holds.
          for (const worker of model.live().slice(0, -1)) {
            slots[slots.indexOf(worker)] = undefined;
            await worker.transport.kill();
          }
          model.produce(5);
          await model.check();
        } finally {
          await model.stopAll();
        }
      }),
      {
        numRuns: Number(process.env.RUNS ?? 30),
        endOnFailure: debug,
        ...(process.env.SEED ? { seed: Number(process.env.SEED), path: process.env.FC_PATH } : {}),
      },
    );
  });
});
