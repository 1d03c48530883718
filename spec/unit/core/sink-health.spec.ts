import { expect } from 'chai';
import { Subject, asyncScheduler, bufferCount, throwError } from 'rxjs';
import { Lineage, type LineageOwner } from '../../../lib/core/lineage.js';
import { type Message, createMessage, recordMessage } from '../../../lib/core/message.js';
import {
  type AgentSinkHealth,
  type SinkEvent,
  type SinkHealth,
  SinkHealthRegistry,
} from '../../../lib/core/sink-health.js';
import { sink } from '../../../lib/sinks/sink.js';
import { marbles } from '../../support/marbles.js';

describe('SinkHealthRegistry: one app’s sinks, per agent and sink name', () => {
  it('stamps with the async scheduler’s clock by default: virtual time under TestScheduler.run, as the failure handler reads it', () => {
    marbles().run(({ flush }) => {
      const save = new SinkHealthRegistry().forAgent('save');
      asyncScheduler.schedule(() => save.failed('redis', new Error('refused')), 250);
      flush();
      expect(save.get('redis')?.since).to.equal(250);
      expect(save.succeededSince('redis', 100)).to.equal(false);
    });
  });

  it('a sink is failing from its first failed attempt until a write succeeds; changes$ tells the turns only', () => {
    const registry = new SinkHealthRegistry();
    const changes: SinkHealth[] = [];
    registry.changes$.subscribe((change) => changes.push(change));
    const save = registry.forAgent('save');
    save.succeeded('redis', 100);
    save.failed('redis', Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }), 200);
    save.failed('redis', new Error('still refused'), 300);
    expect(save.get('redis')).to.deep.equal({
      agent: 'save',
      name: 'redis',
      state: 'failing',
      since: 200,
      lastError: 'still refused',
      lastSuccessAt: 100,
      failedAttempts: 2,
    });
    expect(save.succeededSince('redis', 200)).to.equal(false);
    save.succeeded('redis', 400);
    expect(save.get('redis')).to.deep.equal({
      agent: 'save',
      name: 'redis',
      state: 'ok',
      since: 400,
      lastSuccessAt: 400,
      failedAttempts: 0,
    });
    expect(save.succeededSince('redis', 200)).to.equal(true);
    expect(changes.map(({ state, since, lastError }) => ({ state, since, lastError }))).to.deep.equal([
      { state: 'failing', since: 200, lastError: 'ECONNREFUSED connect refused' },
      { state: 'ok', since: 400, lastError: undefined },
    ]);
  });

  it('keeps two agents’ sinks of the same name apart, and shares nothing with another registry', () => {
    const registry = new SinkHealthRegistry();
    const save = registry.forAgent('save');
    const audit = registry.forAgent('audit');
    expect(registry.forAgent('save')).to.equal(save);
    save.failed('redis', new Error('down'), 100);
    audit.succeeded('redis', 200);
    expect(save.succeededSince('redis', 100)).to.equal(false);
    expect(audit.succeededSince('redis', 100)).to.equal(true);
    expect(registry.list().map(({ agent, name, state }) => `${agent}/${name}:${state}`)).to.have.members([
      'save/redis:failing',
      'audit/redis:ok',
    ]);
    const other = new SinkHealthRegistry();
    other.forAgent('save').succeeded('redis', 300);
    expect(save.succeededSince('redis', 100)).to.equal(false);
    expect(other.list()).to.have.length(1);
  });

  it('events$ carries each finished write with its agent; a successful one counts as a success', () => {
    const registry = new SinkHealthRegistry(() => 500);
    const events: SinkEvent[] = [];
    registry.events$.subscribe((event) => events.push(event));
    registry.forAgent('save').wrote({ sink: 'redis', messages: 2, durationMs: 3, attempts: 1 });
    expect(events).to.deep.equal([{ agent: 'save', sink: 'redis', messages: 2, durationMs: 3, attempts: 1 }]);
    expect(registry.forAgent('save').get('redis')).to.include({ state: 'ok', lastSuccessAt: 500 });
  });
});

describe('sink: reports into the sink health of the agent whose messages it writes', () => {
  /** An agent stand-in: a lineage owner carrying its part of an app's sink health. */
  const ownerWith = (sinkHealth: AgentSinkHealth | undefined): LineageOwner => ({
    accepting: true,
    onSettled: () => undefined,
    onFailed: () => undefined,
    ...(sinkHealth ? { sinkHealth } : {}),
  });
  const messageOf = (owner: LineageOwner, offset: number): Message<number, string> =>
    recordMessage('items', 0, { offset, headers: {}, timestamp: 0 }, 'k', offset, new Lineage(owner, offset));

  it('each failed attempt and each finished write go to the owner’s app, under its agent (virtual time)', () => {
    const appA = new SinkHealthRegistry(() => 0);
    const appB = new SinkHealthRegistry(() => 0);
    const events: SinkEvent[] = [];
    appA.events$.subscribe((event) => events.push(event));
    marbles().run(({ cold, flush }) => {
      let calls = 0;
      const redis = sink<number, string>(
        () => (++calls === 1 ? cold('-#', undefined, new Error('ECONNREFUSED')) : cold('-(x|)')),
        { name: 'redis', retry: { retries: 1, backoff: { initialDelayMs: 10, jitter: false } } },
      );
      const input = new Subject<Message<number, string>>();
      input.pipe(redis).subscribe();
      input.next(messageOf(ownerWith(appA.forAgent('save')), 0));
      flush();
    });
    expect(appA.list()).to.deep.equal([
      { agent: 'save', name: 'redis', state: 'ok', since: 0, lastSuccessAt: 0, failedAttempts: 0 },
    ]);
    expect(events).to.have.length(1);
    expect(events[0]).to.include({ agent: 'save', sink: 'redis', messages: 1, attempts: 2 });
    expect(appB.list()).to.deep.equal([]);
  });

  it('a batch of two agents’ messages reports to both; a message of no agent reports nowhere', () => {
    const registry = new SinkHealthRegistry();
    const save = registry.forAgent('save');
    const audit = registry.forAgent('audit');
    const failing = sink<number, string>(() => throwError(() => new Error('down')), {
      name: 'redis',
      retry: { retries: 0 },
    });
    const input = new Subject<Message<number, string>>();
    input.pipe(bufferCount(3), failing).subscribe();
    input.next(messageOf(ownerWith(save), 0));
    input.next(messageOf(ownerWith(audit), 1));
    input.next(messageOf(ownerWith(save), 2));
    expect(save.get('redis')).to.include({ state: 'failing', failedAttempts: 1 });
    expect(audit.get('redis')).to.include({ state: 'failing', failedAttempts: 1 });

    const alone = new Subject<Message<number, string>>();
    alone.pipe(failing).subscribe();
    alone.next(createMessage({ topic: 'items', key: 'k', value: 3 }));
    alone.next(messageOf(ownerWith(undefined), 4));
    expect(registry.list()).to.have.length(2);
    expect(save.get('redis')).to.include({ failedAttempts: 1 });
  });
});
