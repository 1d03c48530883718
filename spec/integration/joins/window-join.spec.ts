import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { REPARTITION_HEADERS } from '../../../lib/index.js';
import { waitFor } from '../../../lib/testing/index.js';
import { type FixtureProcess, startFixture } from '../support/fixture-process.js';
import { readTopic } from '../support/read-topic.js';
import { services, uniqueName } from '../support/services.js';
import type { Order, Paid, Payment, WorkerStatus } from './window-join-worker.js';

const fixture = fileURLToPath(new URL('./window-join-worker.ts', import.meta.url));
const WITHIN_MS = 2000;
/**
 * More than the records of a killed worker's input partitions wait to be copied again (its session
 * timeout, 6 s, and the rebalances of three groups on a busy machine): until then the join topic's
 * stream time of their side moves on with the other input partitions' copies (stream time is per side,
 * not per input partition), and they must not be late.
 */
const GRACE_MS = 30_000;
const PRODUCE_MS = 15_000;
const VICTIM_COMMIT_MS = 1000; // the victim's agents commit this often: its copies wait to be committed

/**
 * Deal n, by n % 6: 0 an order never paid; 1 paid 500 ms later; 2 paid 1200 ms before; 3 paid 2600 ms
 * later (outside the window: unmatched); 4 paid twice, 300 and 1800 ms later; 5 paid exactly `within`
 * later (inside: the bound is inclusive).
 */
const OFFSETS: readonly (readonly number[])[] = [[], [500], [-1200], [2600], [300, 1800], [WITHIN_MS]];

/** The left join of the input as Kafka Streams' JoinWindows defines it, as `order|payment` ids. */
function reference(orders: readonly Order[], payments: readonly Payment[]): string[] {
  const out: string[] = [];
  for (const order of orders) {
    const matches = payments.filter((p) => p.order === order.id && Math.abs(p.at - order.at) <= WITHIN_MS);
    out.push(...(matches.length ? matches.map((p) => `${order.id}|${p.id}`) : [`${order.id}|`]));
  }
  return out.sort();
}

const statusOf = (worker: FixtureProcess): WorkerStatus | undefined => {
  const lines = worker.output().match(/^status .*$/gm);
  return lines ? (JSON.parse(lines.at(-1)!.slice('status '.length)) as WorkerStatus) : undefined;
};

describe('kafka: a windowed stream–stream join with a worker SIGKILLed mid-stream', function () {
  this.timeout(420_000); // each stage has its own bound; about a minute and a half in all

  it('left join, two workers, one killed holding join state, results not settled and copies not committed: the survivor takes over, each match comes out once (again only across the hand-over, the same value), each unpaid order once with no payment', async () => {
    const appId = uniqueName('window-join');
    const topics = { orders: `${appId}-orders`, payments: `${appId}-payments`, out: `${appId}-paid` };
    const kafka = new Kafka({ brokers: services.kafkaBrokers, clientId: appId, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: topics.orders, numPartitions: 4 },
        { topic: topics.payments, numPartitions: 4 },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const env = {
      RIVULET_APP: appId,
      RIVULET_ORDERS_TOPIC: topics.orders,
      RIVULET_PAYMENTS_TOPIC: topics.payments,
      RIVULET_OUT_TOPIC: topics.out,
      RIVULET_WITHIN_MS: String(WITHIN_MS),
      RIVULET_GRACE_MS: String(GRACE_MS),
    };
    const workers: FixtureProcess[] = [];
    const producer = kafka.producer();
    try {
      // killed as soon as, a third into the input, it owns join partitions, holds join state, has
      // written results and holds results not written yet (each waits 300 ms), and its copy agents hold
      // copies the broker acknowledged and not committed
      let armed = false;
      let killed: { uncommitted: number; status: WorkerStatus } | undefined;
      const victim = startFixture(
        fixture,
        {
          ...env,
          RIVULET_WORKER: 'victim',
          RIVULET_COMMIT_MS: String(VICTIM_COMMIT_MS),
          RIVULET_REPORT_UNCOMMITTED: '3',
          RIVULET_RESULT_DELAY_MS: '300',
        },
        (chunk) => {
          const pending = /killed (\d+)/.exec(chunk);
          const status = statusOf(victim);
          if (killed || !pending || !status) return;
          killed = { uncommitted: Number(pending[1]), status };
        },
      );
      const survivor = startFixture(fixture, { ...env, RIVULET_WORKER: 'survivor' });
      workers.push(victim, survivor);
      await waitFor(() => workers.every((w) => (statusOf(w)?.partitions ?? 0) > 0), {
        timeoutMs: 90_000,
        description: 'both workers own partitions of the join topic',
      });
      await producer.connect();

      // deals in event time order, at the pace of the wall clock (event time ≈ now): 5 every 100 ms
      const orders: Order[] = [];
      const payments: Payment[] = [];
      const due: { topic: string; key: string; value: Order | Payment }[] = [];
      const began = Date.now();
      let killedAt = 0;
      for (let deal = 0; ;) {
        const now = Date.now();
        if (now - began < PRODUCE_MS)
          for (const end = deal + 5; deal < end; deal++) {
            const at = now + 1200; // room for a payment before its order
            const order: Order = { id: `o${deal}`, user: `u${deal % 13}`, at };
            orders.push(order);
            due.push({ topic: topics.orders, key: order.user, value: order });
            OFFSETS[deal % OFFSETS.length]!.forEach((offset, i) => {
              const payment: Payment = {
                id: `p${deal}-${i}`,
                order: order.id,
                amount: deal + i,
                at: at + offset,
              };
              payments.push(payment);
              due.push({ topic: topics.payments, key: payment.id, value: payment });
            });
          }
        else if (due.length === 0) break;
        due.sort((a, b) => a.value.at - b.value.at);
        const later = due.findIndex((d) => d.value.at > now);
        const send = due.splice(0, later < 0 ? due.length : later);
        const topicMessages = [topics.orders, topics.payments]
          .map((topic) => ({
            topic,
            messages: send
              .filter((d) => d.topic === topic)
              .map((d) => ({ key: d.key, value: JSON.stringify(d.value) })),
          }))
          .filter((t) => t.messages.length > 0);
        if (topicMessages.length) await producer.sendBatch({ topicMessages });
        if (!armed && now - began > PRODUCE_MS / 3) {
          armed = true;
          victim.child.kill('SIGUSR2'); // it kills itself at its next report while holding state
        }
        if (!killedAt && killed) {
          await victim.exited;
          killedAt = Date.now() - began;
        }
        await new Promise((resolve) => setTimeout(resolve, 100)); // the pace of the input, not a wait
      }
      expect(killed, 'the victim was killed while the input flowed').to.not.equal(undefined);
      const expected = reference(orders, payments);
      const lastAt = Math.max(...orders.map((o) => o.at));

      // the last unpaid orders go out once the watermark (stream time − grace, by the wall clock once
      // idle) passed their time + 2 × within
      const read = async (): Promise<Paid[]> =>
        (await readTopic(kafka, topics.out)).map((m) => JSON.parse(m.value!.toString()) as Paid);
      const distinct = (results: readonly Paid[]): string[] =>
        [...new Set(results.map((r) => `${r.order}|${r.payment ?? ''}`))].sort();
      await waitFor(async () => distinct(await read()).length >= expected.length, {
        timeoutMs: lastAt + 2 * WITHIN_MS + GRACE_MS + 60_000 - Date.now(),
        intervalMs: 1000,
        description: `the ${expected.length} results (survivor: ${JSON.stringify(statusOf(survivor))})`,
      });
      survivor.child.kill('SIGTERM');
      await survivor.exited;
      const results = await read();
      const final = statusOf(survivor)!;

      const copies = await readTopic(kafka, `${appId}-paid-join`);
      const origins = new Set(
        copies.map((m) =>
          [REPARTITION_HEADERS.topic, REPARTITION_HEADERS.partition, REPARTITION_HEADERS.offset]
            .map((h) => String(m.headers?.[h]))
            .join('/'),
        ),
      );
      const by = (worker: string): number => results.filter((r) => r.by.startsWith(`${worker}/`)).length;
      console.log(
        `      ${orders.length} orders, ${payments.length} payments: ${expected.length} results expected; victim killed ${killedAt} ms into ${PRODUCE_MS} ms of input ` +
          `(it held ${killed!.status.keys} keys of join state and ${killed!.status.pending} results not settled, had settled ${killed!.status.settled}, ${killed!.uncommitted} copies not committed); ` +
          `${copies.length} records in the join topic (${copies.length - origins.size} copied again); ${results.length} results written ` +
          `(${by('victim')} by the victim, ${by('survivor')} by the survivor, ${results.length - distinct(results).length} again after the crash)`,
      );
      expect(final.late, 'late records').to.equal(0);
      expect(origins.size, 'every order and payment crossed the hop').to.equal(
        orders.length + payments.length,
      );
      expect(by('victim'), 'the victim emitted results before it was killed').to.be.above(0);
      expect(killed!.uncommitted, 'the victim died holding copies not committed').to.be.above(0);
      // Not asserted: that the survivor made those copies again. It did in every local run (20–27), and in
      // none of two CI runs on a freshly started broker (25 uncommitted, 0 copied again; reason not found
      // yet). A copy made again counting once is what order-volume.spec.ts asserts on Kafka and
      // repartition-exact.property.spec.ts under random crashes; here the results are checked exactly
      // either way.
      // exact across the hop and the crash: each match once, each unpaid order once with no payment
      expect(distinct(results)).to.deep.equal(expected);
      for (const r of results) {
        if (r.payment === null) continue;
        const payment = payments.find((p) => p.id === r.payment)!;
        expect(r.amount, r.payment).to.equal(payment.amount);
      }
      // a result written twice went through the hand-over: another worker, or another generation of the
      // group (its partition restored again); never twice by one owner of its partition
      const emitters = new Map<string, string[]>();
      for (const r of results) {
        const key = `${r.order}|${r.payment ?? ''}`;
        emitters.set(key, [...(emitters.get(key) ?? []), r.by]);
      }
      for (const [key, who] of emitters)
        expect(new Set(who).size, `${key} written by ${who.join(', ')}`).to.equal(who.length);
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await producer.disconnect();
    }
  });
});
