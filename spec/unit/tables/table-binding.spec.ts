import { expect } from 'chai';
import { groupBy, mergeMap, of, toArray } from 'rxjs';
import {
  LOCAL_SCOPE,
  type AgentScope,
  type PartitionResource,
} from '../../../lib/agent/partition-resources.js';
import { Lineage, type LineageOwner } from '../../../lib/core/lineage.js';
import { type Message, recordMessage } from '../../../lib/core/message.js';
import {
  TableBindingError,
  TableNotBoundError,
  createApp,
  json,
  silentLogger,
  updateTable,
} from '../../../lib/index.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';

function table() {
  const app = createApp({ id: 'unit', logger: silentLogger });
  return app.table<number>('totals', { value: json(), default: () => 0 });
}

/** An agent's scope whose partitions get ready when the test says so. */
function agentScope(agent: string) {
  const registered: PartitionResource[] = [];
  let ready!: () => void;
  const restored = new Promise<void>((resolve) => (ready = resolve));
  const scope: AgentScope = {
    agent,
    group: `unit.${agent}`,
    topic: 'orders',
    errors: {},
    use(resource) {
      registered.push(resource);
      return restored;
    },
    fail: () => undefined,
  };
  return { scope, registered, ready: () => ready() };
}

/** A record's message whose lineage's owner exposes `scope`. */
function messageOf(scope: unknown, offset: number): Message<unknown, unknown> {
  const owner: LineageOwner = {
    accepting: true,
    onSettled: () => undefined,
    onFailed: () => undefined,
    scope,
  };
  return recordMessage(
    'orders',
    0,
    { offset, headers: {}, timestamp: 0 },
    'ada',
    offset,
    new Lineage(owner, offset),
  );
}

describe('Table binding (the scope of each message’s lineage owner)', () => {
  it('the first message binds the table to its agent; messages wait for the restore, then go in arrival order', async () => {
    const totals = table();
    const agent = agentScope('count');
    const went: number[] = [];
    const go = (message: Message<unknown, unknown>): void => {
      went.push(message.offset);
      // one let go brings another (a synchronous pipeline): it joins the end of the queue
      if (message.offset === 1) expect(totals.enter(messageOf(agent.scope, 3), go)).to.equal(undefined);
    };
    for (const offset of [0, 1, 2])
      expect(totals.enter(messageOf(agent.scope, offset), go)).to.equal(undefined);
    expect(agent.registered).to.have.length(1); // registered once, at the first message
    expect(totals.agentScope).to.equal(agent.scope);
    expect(went).to.deep.equal([]);
    agent.ready();
    await Promise.resolve();
    await Promise.resolve();
    expect(went).to.deep.equal([0, 1, 2, 3]);
    totals.enter(messageOf(agent.scope, 4), go); // restored: at once
    expect(went).to.deep.equal([0, 1, 2, 3, 4]);
    expect(agent.registered).to.have.length(1);
  });

  it('a message of no agent is a TableNotBoundError, bound or not; the message goes nowhere', () => {
    const totals = table();
    const went: number[] = [];
    const go = (message: Message<unknown, unknown>): number => went.push(message.offset);
    const unbound = totals.enter(testMessage(1, { topic: 'orders', partition: 2, offset: 7 }), go);
    expect(unbound).to.be.instanceOf(TableNotBoundError);
    expect(unbound).to.include({ table: 'totals', topic: 'orders', partition: 2, offset: 7 });
    expect(unbound!.message).to.contain('orders[2]@7');
    totals.enter(messageOf(LOCAL_SCOPE, 0), go);
    expect(totals.enter(messageOf(undefined, 1), go)).to.be.instanceOf(TableNotBoundError);
    expect(went).to.deep.equal([0]);
  });

  it('a message of a second agent is a TableBindingError naming both; a local test cannot take an agent’s table either', () => {
    const totals = table();
    const first = agentScope('count');
    const second = agentScope('refund');
    totals.enter(messageOf(first.scope, 0), () => undefined);
    const error = totals.enter(messageOf(second.scope, 0), () => undefined);
    expect(error).to.be.instanceOf(TableBindingError);
    expect(error!.message).to.contain('agent count').and.contain('refund');
    expect(totals.enter(messageOf(LOCAL_SCOPE, 1), () => undefined)).to.be.instanceOf(TableBindingError);
    expect(second.registered).to.deep.equal([]);
    expect(() => totals.bind(second.scope)).to.throw(TableBindingError);
  });

  it('a table a test wrote locally is taken over by an agent (what the test wrote stays local)', () => {
    const totals = table();
    totals.enter(messageOf(LOCAL_SCOPE, 0), () => undefined);
    expect(totals.agentScope).to.equal(undefined);
    const agent = agentScope('count');
    expect(totals.enter(messageOf(agent.scope, 1), () => undefined)).to.equal(undefined);
    expect(totals.agentScope).to.equal(agent.scope);
  });

  it('under testPipeline a table updated through groupBy → mergeMap is local, and exact', async () => {
    const totals = table();
    const run = testPipeline(
      (order$) =>
        order$.pipe(
          groupBy((m) => m.key),
          mergeMap((group$) => group$.pipe(updateTable(totals, (sum: number, m) => sum + m.value))),
        ),
      of(...[1, 2, 3, 4].map((n, offset) => testMessage(n, { key: n % 2 ? 'odd' : 'even', offset }))),
    );
    const settled = await run.settled.pipe(toArray()).toPromise();
    expect(settled).to.deep.equal([0, 1, 2, 3]);
    expect(totals.get('odd')).to.equal(4);
    expect(totals.get('even')).to.equal(6);
    expect(totals.agentScope).to.equal(undefined);
  });
});
