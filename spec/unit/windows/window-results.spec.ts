import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import type { AgentScope } from '../../../lib/agent/partition-resources.js';
import { attemptsLeft, failMessage, isAccepted, settleMessage } from '../../../lib/core/ack.js';
import type { ErrorPolicy } from '../../../lib/core/error-policy.js';
import { MessageReusedError, RivuletError } from '../../../lib/core/errors.js';
import type { Logger } from '../../../lib/core/logger.js';
import { LINEAGE, type Message } from '../../../lib/core/message.js';
import { DEAD_LETTER_HEADERS } from '../../../lib/agent/dead-letter.js';
import { SinkError } from '../../../lib/sinks/sink-error.js';
import { SinkHealthRegistry } from '../../../lib/core/sink-health.js';
import type { ProducerRecord, Transport } from '../../../lib/transports/transport.js';
import { type PendingResult, WindowPartition, resultId } from '../../../lib/windows/window-partition.js';
import {
  WINDOW_DEAD_LETTER_HEADERS,
  type WindowBinding,
  WindowResults,
} from '../../../lib/windows/window-results.js';
import type { WindowResult } from '../../../lib/windows/window-types.js';
import { WindowResultFailedError } from '../../../lib/windows/window-errors.js';

type Out = Message<WindowResult<string, number>, string>;

class Refused extends RivuletError {
  override readonly retriable = false;
}

interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/**
 * A table as {@link WindowResults} sees it, in virtual time: partition 0 owned, results removed as the
 * table removes them (marked handled, forgotten), dead letters produced to a list (or failing as told).
 */
class Harness {
  readonly scheduler = new VirtualTimeScheduler();
  readonly emitted: Out[] = [];
  readonly removed: PendingResult<string, number>[] = [];
  readonly produced: ProducerRecord[] = [];
  readonly logs: LogEntry[] = [];
  /** What the results failed the agent with. */
  readonly failures: unknown[] = [];
  readonly parts = new Map<number, WindowPartition<string, number>>([
    [0, new WindowPartition<string, number>(0, 0, 0)],
  ]);
  /** Dead-letter produces that fail before one succeeds (`Infinity`: all). */
  produceFailures = 0;
  produceError: unknown = new Error('broker down');
  /** Called as a dead-letter produce starts (before it fails or succeeds). */
  onProduce: () => void = () => {};
  binding: WindowBinding<string, number> | undefined;
  readonly results: WindowResults<string, number>;
  /** The app's sink health, and the agent's part of it its scope carries. */
  readonly appSinkHealth = new SinkHealthRegistry();
  readonly sinkHealth = this.appSinkHealth.forAgent('volume');

  /** `scope` null: under test, no agent. */
  constructor(scope: Partial<AgentScope> | null = {}, errors: ErrorPolicy = {}) {
    const log =
      (level: LogEntry['level']) =>
      (fields: object, message?: string): void =>
        void this.logs.push({ level, fields: fields as Record<string, unknown>, message });
    const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
    const transport = {
      produce: async (records: readonly ProducerRecord[]) => {
        this.onProduce();
        if (this.produceFailures > 0) {
          this.produceFailures--;
          throw this.produceError;
        }
        this.produced.push(...records);
        return [];
      },
    } as unknown as Transport;
    this.results = new WindowResults<string, number>({
      table: 'per-second',
      logger,
      transport: () => Promise.resolve(transport),
      binding: () => this.binding,
      part: (partition) => this.parts.get(partition),
      remove: (result) => {
        result.handled = true;
        this.removed.push(result);
        this.parts.get(result.partition)?.results.delete(resultId(result.keyId, result.start, result.end));
      },
      keyBytes: (key) => Buffer.from(`key:${key}`),
    });
    this.binding = this.bindingFor(scope, errors);
    this.scheduler.frame = 1000;
  }

  bindingFor(scope: Partial<AgentScope> | null, errors: ErrorPolicy): WindowBinding<string, number> {
    return {
      emit: (message) => void this.emitted.push(message),
      scheduler: this.scheduler,
      scope:
        scope === null
          ? undefined
          : {
              agent: 'volume',
              group: 'volume-group',
              topic: 'orders',
              use: () => {},
              fail: (error) => void this.failures.push(error),
              sinkHealth: this.sinkHealth,
              ...scope,
              errors: { ...errors, ...scope.errors },
            },
    };
  }

  /** A closed window's result, pending in partition `partition`. */
  pending(key = 'k', start = 0, end = 10, value = 7, partition = 0): PendingResult<string, number> {
    const result: PendingResult<string, number> = {
      partition,
      key,
      keyId: key,
      id: resultId(key, start, end),
      start,
      end,
      value,
      attempts: 0,
      firstFailedAt: undefined,
      handled: false,
      lineage: undefined,
    };
    this.parts.get(partition)?.results.set(result.id, result);
    return result;
  }

  /** Emits `result` and returns its message. */
  emit(result: PendingResult<string, number>): Out {
    this.results.emit(result);
    return this.emitted.at(-1)!;
  }

  /** Runs what is due within `ms` of virtual time (and the promises it starts). */
  async advance(ms: number): Promise<void> {
    const until = this.scheduler.frame + ms;
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      this.scheduler.maxFrames = until;
      this.scheduler.flush();
    }
    this.scheduler.frame = until;
  }
}

/** The virtual times at which results were emitted (recorded as they are). */
function emitTimes(h: Harness): number[] {
  const times: number[] = [];
  const binding = h.binding!;
  h.binding = {
    ...binding,
    emit: (message) => {
      times.push(h.scheduler.now());
      binding.emit(message);
    },
  };
  return times;
}

const backoff = { initialDelayMs: 10, maxDelayMs: 1000, jitter: false } as const;

describe('WindowResults: what becomes of a final result', () => {
  describe('emit', () => {
    it('hands the result downstream as a message of the agent topic, with a lineage of its own', () => {
      const h = new Harness({ topic: 'orders' });
      const result = h.pending('ACME', 0, 10, 42);
      const message = h.emit(result);
      expect([
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.timestamp,
      ]).to.deep.equal(['orders', 0, -1, 'ACME', 10]);
      expect(message.value).to.deep.equal({ key: 'ACME', start: 0, end: 10, value: 42, final: true });
      expect(message[LINEAGE]).to.equal(result.lineage);
      expect(h.results.counts()).to.deep.equal({ emitted: 1, settled: 0, resultsDeadLettered: 0 });
    });

    it('under test (no agent) the message has no topic', () => {
      const h = new Harness(null);
      expect(h.emit(h.pending()).topic).to.equal('');
    });

    it('with no subscription, emits nothing (the next subscription will)', () => {
      const h = new Harness();
      h.binding = undefined;
      const result = h.pending();
      h.results.emit(result);
      expect(h.emitted).to.deep.equal([]);
      expect(result.lineage).to.equal(undefined);
      expect(h.results.counts().emitted).to.equal(0);
    });

    it('is accepting while a subscription runs only', () => {
      const h = new Harness();
      const message = h.emit(h.pending());
      expect(h.results.accepting).to.equal(true);
      expect(isAccepted(message)).to.equal(true);
      h.binding = undefined;
      expect(h.results.accepting).to.equal(false);
      expect(isAccepted(message)).to.equal(false);
    });
  });

  describe('settled', () => {
    it('removes the window and counts it', () => {
      const h = new Harness();
      const result = h.pending();
      settleMessage(h.emit(result));
      expect(h.removed).to.deep.equal([result]);
      expect(h.results.counts()).to.deep.equal({ emitted: 1, settled: 1, resultsDeadLettered: 0 });
    });

    it('a result message settled again is logged as an error naming its window; the window is removed once', () => {
      const h = new Harness();
      const result = h.pending();
      const message = h.emit(result);
      settleMessage(message);
      settleMessage(message);
      expect(h.removed).to.deep.equal([result]);
      const errors = h.logs.filter((entry) => entry.level === 'error');
      expect(errors).to.have.length(1);
      expect(errors[0]!.fields.err).to.be.instanceOf(MessageReusedError);
      expect(errors[0]!.fields).to.include({ table: 'per-second', partition: 0, start: result.start });
    });

    it("an older emit's outcome is ignored once the result was emitted again", () => {
      const h = new Harness();
      const result = h.pending();
      const first = h.emit(result);
      const second = h.emit(result);
      const current = h.emit(result);
      settleMessage(first);
      failMessage(second, new Error('late news'));
      expect(h.removed).to.deep.equal([]);
      expect(h.results.counts().settled).to.equal(0);
      expect(result.attempts).to.equal(0);
      settleMessage(current);
      expect(h.removed).to.deep.equal([result]);
      expect(h.results.counts().settled).to.equal(1);
    });

    it('a result whose partition moved away is not removed, nor counted (settled or failed)', () => {
      const h = new Harness();
      const result = h.pending();
      const message = h.emit(result);
      h.parts.delete(0);
      settleMessage(message);
      expect(h.removed).to.deep.equal([]);
      expect(h.results.counts().settled).to.equal(0);

      const other = new Harness();
      const failing = other.pending();
      const failed = other.emit(failing);
      other.parts.delete(0);
      failMessage(failed, new Refused('no'));
      expect(failing.attempts).to.equal(0);
    });

    it('a result whose partition moved away and came back is the new owner’s: its old emit is ignored', () => {
      const h = new Harness();
      const result = h.pending();
      const message = h.emit(result);
      h.parts.set(0, new WindowPartition<string, number>(0, 0, 0)); // back, restored afresh
      const again = h.pending(); // the same window, closed again from the restored state
      settleMessage(message);
      expect(h.removed).to.deep.equal([]);
      expect(h.results.counts().settled).to.equal(0);
      settleMessage(h.emit(again));
      expect(h.removed).to.deep.equal([again]);
    });
  });

  describe('retry budget (attemptsLeft)', () => {
    it("is the agent's retries + 1 minus the attempts made, a sink's own attempts counting, never below 0", async () => {
      const h = new Harness({}, { retries: 5, backoff });
      const sink = 'redis'; // down all along: the result waits past its budget
      const result = h.pending();
      let message = h.emit(result);
      expect(attemptsLeft(message)).to.equal(6);
      failMessage(message, new SinkError(sink, 3, new Error('down')));
      await h.advance(1000);
      message = h.emitted.at(-1)!;
      expect(h.emitted).to.have.length(2);
      expect(attemptsLeft(message)).to.equal(3);
      failMessage(message, new SinkError(sink, 0, new Error('down'))); // counts as one at least
      await h.advance(1000);
      message = h.emitted.at(-1)!;
      expect(attemptsLeft(message)).to.equal(2);
      failMessage(message, new SinkError(sink, 4, new Error('down')));
      await h.advance(1000);
      expect(attemptsLeft(h.emitted.at(-1)!)).to.equal(0);
      expect(h.produced).to.deep.equal([]);
    });

    it('defaults to 3 retries (4 attempts), also once the subscription ended', () => {
      const h = new Harness({});
      const message = h.emit(h.pending());
      expect(attemptsLeft(message)).to.equal(4);
      h.binding = undefined;
      expect(attemptsLeft(message)).to.equal(4);
      const test = new Harness(null);
      expect(attemptsLeft(test.emit(test.pending()))).to.equal(4);
    });

    it('a retriable failure is emitted again after the backoff while the budget lasts; then dead-lettered', async () => {
      const h = new Harness({}, { retries: 2, backoff });
      const times = emitTimes(h);
      const result = h.pending();
      h.emit(result);
      for (let i = 0; i < 3; i++) {
        failMessage(h.emitted.at(-1)!, new Error('flaky'));
        await h.advance(100);
      }
      // attempts 1 and 2 are within the budget (retries 2): emitted again after 10 and 20 ms
      expect(times).to.deep.equal([1000, 1010, 1120]);
      expect(result.attempts).to.equal(3);
      expect(h.produced).to.have.length(1);
      expect(h.removed).to.deep.equal([result]);
      expect(h.results.counts()).to.deep.equal({ emitted: 3, settled: 0, resultsDeadLettered: 1 });
      const debug = h.logs.filter((l) => l.level === 'debug');
      expect(debug.map((l) => [l.message, l.fields['table'], l.fields['delay']])).to.deep.equal([
        ['retrying a final window result', 'per-second', 10],
        ['retrying a final window result', 'per-second', 20],
      ]);
      expect(debug.every((l) => (l.fields['err'] as Error).message === 'flaky')).to.equal(true);
    });

    it('with retries: 0 the first retriable failure is dead-lettered', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      const result = h.pending();
      failMessage(h.emit(result), new Error('flaky'));
      await h.advance(100);
      expect(h.emitted).to.have.length(1);
      expect(h.produced).to.have.length(1);
    });

    it('a failure that is not retriable is dead-lettered at once, even with budget left and a sink that never wrote', async () => {
      const h = new Harness({}, { retries: 5, backoff });
      const result = h.pending('BAD', 0, 10, 2);
      failMessage(h.emit(result), new SinkError('redis', 1, new Refused('no such symbol')));
      await h.advance(100);
      expect(h.emitted).to.have.length(1);
      expect(h.produced).to.have.length(1);
      expect(h.removed).to.deep.equal([result]);
      const warn = h.logs.find((l) => l.level === 'warn')!;
      expect(warn.message).to.equal('a final window result failed for good; dead-lettering it');
      expect(warn.fields).to.deep.include({
        table: 'per-second',
        partition: 0,
        start: 0,
        end: 10,
        attempts: 1,
      });
      expect(warn.fields['err']).to.be.instanceOf(SinkError);
    });
  });

  describe('a sink outage', () => {
    it('past the budget, a result whose sink wrote nothing since its first failure waits, retried at each backoff step', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      const sink = 'redis';
      h.sinkHealth.succeeded(sink, 500); // before the result's first failure (at 1000)
      const result = h.pending();
      for (let i = 0; i < 4; i++) {
        failMessage(h.emit(result), new SinkError(sink, 1, new Error('ECONNREFUSED')));
        await h.advance(1000);
      }
      expect(h.produced).to.deep.equal([]);
      expect(h.removed).to.deep.equal([]);
      const waits = h.logs.filter((l) => l.level === 'warn');
      expect(waits).to.have.length(4);
      expect(waits[0]!.message).to.equal('a final window result waits for its sink to come back');
      expect(waits[0]!.fields).to.deep.include({ table: 'per-second', partition: 0, start: 0, end: 10 });
    });

    it('once the sink wrote something after the first failure, the next failure is not an outage: dead-lettered', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      const sink = 'redis';
      const result = h.pending();
      failMessage(h.emit(result), new SinkError(sink, 1, new Error('ECONNREFUSED')));
      await h.advance(1000);
      expect(h.produced).to.deep.equal([]);
      h.sinkHealth.succeeded(sink, 1500); // other results went through: this one is the problem
      failMessage(h.emitted.at(-1)!, new SinkError(sink, 1, new Error('ECONNREFUSED')));
      await h.advance(1000);
      expect(h.produced).to.have.length(1);
      expect(h.removed).to.deep.equal([result]);
    });

    it("a write of the same sink name for another agent is not this agent's sink writing: the result still waits", async () => {
      const h = new Harness({}, { retries: 0, backoff });
      const sink = 'redis';
      const result = h.pending();
      failMessage(h.emit(result), new SinkError(sink, 1, new Error('ECONNREFUSED')));
      await h.advance(1000);
      h.appSinkHealth.forAgent('other-agent').succeeded(sink, 1500); // its own server, up
      failMessage(h.emitted.at(-1)!, new SinkError(sink, 1, new Error('ECONNREFUSED')));
      await h.advance(1000);
      expect(h.produced).to.deep.equal([]);
      expect(h.removed).to.deep.equal([]);
    });

    it("a sink writing final results reports into the agent's sink health; under test, into one of the table's own", () => {
      const h = new Harness({}, { retries: 0, backoff });
      expect(h.results.sinkHealth).to.equal(h.sinkHealth);
      const alone = new Harness(null);
      const local = alone.results.sinkHealth;
      expect(local).not.to.equal(h.sinkHealth);
      expect(local).to.equal(alone.results.sinkHealth); // kept, so what its sinks report is read back
      local.failed('redis', new Error('ECONNREFUSED'));
      expect(new Harness(null).results.sinkHealth.get('redis')).to.equal(undefined);
    });

    it('an error that is not a sink’s is no outage: dead-lettered past the budget', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      failMessage(h.emit(h.pending()), new Error('pipeline bug'));
      await h.advance(100);
      expect(h.produced).to.have.length(1);
    });
  });

  describe('the dead-letter topic', () => {
    it('gets the result as JSON, keyed, with the error, the agent and the window in headers', async () => {
      const h = new Harness({ topic: 'orders', agent: 'volume' }, { retries: 0, backoff });
      const result = h.pending('BAD', 20, 30, 5);
      failMessage(h.emit(result), new Refused('x'.repeat(5000)));
      await h.advance(100);
      const [record] = h.produced;
      expect(record!.topic).to.equal('orders.dlq');
      expect(record!.key!.toString()).to.equal('key:BAD');
      expect(JSON.parse(record!.value!.toString())).to.deep.equal({
        key: 'BAD',
        start: 20,
        end: 30,
        value: 5,
      });
      expect(record!.headers).to.deep.equal({
        [DEAD_LETTER_HEADERS.error]: 'x'.repeat(4096),
        [DEAD_LETTER_HEADERS.errorName]: 'Refused',
        [DEAD_LETTER_HEADERS.agent]: 'volume',
        [DEAD_LETTER_HEADERS.topic]: 'orders',
        [DEAD_LETTER_HEADERS.partition]: '0',
        [DEAD_LETTER_HEADERS.attempts]: '1',
        [WINDOW_DEAD_LETTER_HEADERS.table]: 'per-second',
        [WINDOW_DEAD_LETTER_HEADERS.start]: '20',
        [WINDOW_DEAD_LETTER_HEADERS.end]: '30',
      });
      expect(h.results.counts()).to.deep.equal({ emitted: 1, settled: 0, resultsDeadLettered: 1 });
    });

    it("is the agent's deadLetterTopic when it has one", async () => {
      const h = new Harness({}, { retries: 0, deadLetterTopic: 'orders.failed' });
      failMessage(h.emit(h.pending()), new Refused('no'));
      await h.advance(100);
      expect(h.produced.map((r) => r.topic)).to.deep.equal(['orders.failed']);
    });

    it('a produce that fails is tried 4 more times, whatever the error, at the agent backoff', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      h.produceFailures = 4;
      h.produceError = new Refused('not retriable, retried anyway');
      const result = h.pending();
      failMessage(h.emit(result), new Refused('no'));
      await h.advance(10 + 20 + 40 + 80); // the backoff of the agent, not the default (200 ms and more)
      expect(h.produced).to.have.length(1);
      expect(h.removed).to.deep.equal([result]);
    });

    it('when every produce failed, the result is emitted again later (its window kept), and it says so', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      h.produceFailures = Infinity;
      const result = h.pending();
      failMessage(h.emit(result), new Refused('no'));
      await h.advance(10 + 20 + 40 + 80 + 9);
      expect(h.emitted).to.have.length(1);
      await h.advance(1);
      expect(h.emitted).to.have.length(2); // 10 ms after the last produce failed (attempt 1)
      expect(h.removed).to.deep.equal([]);
      expect(h.results.counts().resultsDeadLettered).to.equal(0);
      const error = h.logs.find((l) => l.level === 'error')!;
      expect(error.message).to.equal('could not dead-letter a final window result; trying again later');
      expect(error.fields['table']).to.equal('per-second');
      expect(error.fields['err']).to.equal(h.produceError);
    });

    it('when every produce failed after the subscription ended, nothing is tried again by this one', async () => {
      const h = new Harness({}, { retries: 0, backoff });
      h.produceFailures = Infinity;
      const result = h.pending();
      h.onProduce = () => {
        h.results.unbound();
        h.binding = h.bindingFor({}, { retries: 0, backoff }); // the next subscription
      };
      failMessage(h.emit(result), new Refused('no'));
      await h.advance(10_000);
      expect(h.emitted).to.have.length(1);
      expect(h.removed).to.deep.equal([]);
    });

    it('under test (no agent, no dead-letter topic), the window stays and its result is tried again', async () => {
      const h = new Harness(null, {});
      const result = h.pending();
      failMessage(h.emit(result), new Refused('no'));
      await h.advance(5000);
      expect(h.produced).to.deep.equal([]);
      expect(h.removed).to.deep.equal([]);
      expect(h.emitted.length).to.be.greaterThan(1);
      const error = h.logs.find((l) => l.level === 'error')!;
      expect(error.message).to.equal('a final window result keeps failing');
      expect(error.fields['table']).to.equal('per-second');
      expect((error.fields['err'] as Error).message).to.equal('no');
    });

    it("with onFailure: 'stop', a result failed for good fails the agent; its window stays and nothing is dead-lettered", async () => {
      const h = new Harness({ errors: { onFailure: 'stop', retries: 1, backoff } });
      const result = h.pending('k', 1000, 2000, 7);
      failMessage(h.emit(result), new Error('flaky'));
      expect(h.failures, 'retried first, as a record would be').to.deep.equal([]);
      await h.advance(1000);
      expect(h.emitted).to.have.length(2);
      failMessage(h.emitted[1]!, new Refused('no such symbol'));
      expect(h.failures).to.have.length(1);
      const failure = h.failures[0] as WindowResultFailedError;
      expect(failure).to.be.instanceOf(WindowResultFailedError);
      expect(failure).to.include({ table: 'per-second', partition: 0, start: 1000, end: 2000 });
      expect(failure.cause).to.be.instanceOf(Refused);
      expect(failure.message).to.contain('failed for good: no such symbol');
      const warning = h.logs.find((l) => l.message === 'a final window result failed for good; policy: stop');
      expect(warning?.level).to.equal('warn');
      expect(warning?.fields).to.include({ table: 'per-second', start: 1000, end: 2000, attempts: 2 });
      expect((warning?.fields['err'] as Error).message).to.equal('no such symbol');
      await h.advance(10_000);
      expect(h.produced, 'nothing dead-lettered').to.deep.equal([]);
      expect(h.removed, 'the window stays for the next run').to.deep.equal([]);
      expect(h.emitted, 'not emitted again by this run').to.have.length(2);
      expect(h.results.counts().resultsDeadLettered).to.equal(0);
    });
  });

  describe('pending retries', () => {
    it('are dropped when the subscription ends (the next one emits its results itself)', async () => {
      const h = new Harness({}, { backoff });
      const result = h.pending();
      failMessage(h.emit(result), new Error('flaky'));
      h.results.unbound();
      h.binding = h.bindingFor({}, { backoff });
      await h.advance(1000);
      expect(h.emitted).to.have.length(1);
    });

    it('a failure reported after the subscription ended changes nothing', async () => {
      const h = new Harness({}, { backoff });
      const result = h.pending();
      const message = h.emit(result);
      h.binding = undefined;
      failMessage(message, new Error('flaky'));
      expect(result.attempts).to.equal(0);
      expect(result.lineage).to.equal(message[LINEAGE]);
    });

    it('are not emitted for a result emitted again meanwhile, handled meanwhile, or whose partition moved', async () => {
      for (const meanwhile of [
        (h: Harness, r: PendingResult<string, number>) => void h.results.emit(r),
        (_: Harness, r: PendingResult<string, number>) => void (r.handled = true),
        (h: Harness) => void h.parts.delete(0),
        (h: Harness) => void h.parts.set(0, new WindowPartition<string, number>(0, 0, 0)),
      ]) {
        const h = new Harness({}, { backoff });
        const result = h.pending();
        failMessage(h.emit(result), new Error('flaky'));
        meanwhile(h, result);
        const before = h.emitted.length;
        await h.advance(1000);
        expect(h.emitted).to.have.length(before);
      }
    });
  });
});
