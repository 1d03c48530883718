import { withDeadline } from '../core/deadline.js';
import { ShutdownTimeoutError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AgentConsumer } from './agent-consumer.js';
import type { AgentDrain } from './agent-drain.js';
import type { AgentResources } from './agent-resources.js';
import type { DropDetector } from './drop-detector.js';
import type { FailureHandler } from './failure-handler.js';
import type { Ledger } from './ledger.js';
import type { StallDetector } from './stall-detector.js';

/** The rooms of an agent a graceful stop goes through. @internal */
export interface StoppingAgent {
  readonly name: string;
  readonly logger: Logger;
  readonly drops: DropDetector;
  readonly failures: FailureHandler;
  readonly ledger: Ledger;
  readonly supervisor: { dispose(): void; complete(): Promise<void> };
  readonly drain: AgentDrain;
  readonly consumer: AgentConsumer;
  readonly stall: StallDetector;
  readonly resources: AgentResources;
}

/**
 * An agent's graceful stop, in order, all of it within `timeoutMs` (wall clock): take no more records;
 * complete the pipeline (writes already started finish, records not yet handed to a sink are left for
 * redelivery; during an outage it is cut at once) and wait for the drain; commit what settled; let the
 * tables go of their partitions; leave the group. Resolves with how many records were left unsettled.
 *
 * @example
 * ```ts
 * const leftForRedelivery = await drainAndLeave(rooms, 30_000);
 * ```
 * @internal
 */
export async function drainAndLeave(agent: StoppingAgent, timeoutMs: number): Promise<number> {
  const { name, ledger, supervisor, drain, consumer } = agent;
  agent.drops.stop();
  const outage = agent.failures.outage;
  agent.failures.stop();
  ledger.close();
  const drained = drain.wait();
  // While a sink is down, a write under way is a try that will not go through: don't wait for it.
  if (outage) supervisor.dispose();
  else void supervisor.complete();
  drain.check();
  const stopBy = Date.now() + timeoutMs;
  const timedOut = await withDeadline(
    drained.then(() => false),
    timeoutMs,
    true,
  );
  const unsettled = ledger.unsettled;
  if (timedOut && unsettled > 0) {
    const error = new ShutdownTimeoutError(name, unsettled);
    agent.logger.warn({ agent: name, unsettled }, error.message);
  }
  await consumer.joined(stopBy);
  await ledger.flush();
  agent.stall.stop();
  // Tables let go of their partitions (their writes in flight end) before the group hands them on.
  const assigned = [...ledger.trackers()].map(({ topic, partition }) => ({ topic, partition }));
  // Within what is left of the deadline: a table waiting for writes that cannot land any more lets
  // go when the app closes it.
  const released = agent.resources.revoked(assigned);
  released.catch(() => undefined); // a failure after the deadline is the app's close to handle
  await withDeadline(released, Math.max(0, stopBy - Date.now()), undefined);
  await consumer.leave();
  supervisor.dispose();
  return unsettled;
}
