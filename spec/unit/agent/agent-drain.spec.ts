import { expect } from 'chai';
import { AgentDrain } from '../../../lib/agent/agent-drain.js';

/** Whether `drained` resolved by the end of the current microtasks. */
async function resolved(drained: Promise<void>): Promise<boolean> {
  let done = false;
  void drained.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('AgentDrain', () => {
  it('a stop waits while an offset is held for a change on its way to a changelog, even with every record settled', async () => {
    let holds = 2;
    let unsettled = 0;
    const drain = new AgentDrain({
      unsettled: () => unsettled,
      pendingDeadLetters: () => 0,
      holds: () => holds,
    });
    const drained = drain.wait();
    drain.check();
    expect(drain.waiting).to.equal(true);
    holds = 1;
    drain.check();
    expect(await resolved(drained)).to.equal(false);
    holds = 0;
    unsettled = 1;
    drain.check();
    expect(await resolved(drained)).to.equal(false);
    unsettled = 0;
    drain.check();
    expect(await resolved(drained)).to.equal(true);
    expect(drain.waiting).to.equal(false);
  });

  it('a completed pipeline drains with records unsettled, but not while an offset is held', async () => {
    let holds = 1;
    const drain = new AgentDrain({ unsettled: () => 3, pendingDeadLetters: () => 0, holds: () => holds });
    const drained = drain.wait();
    drain.pipelineDone();
    expect(await resolved(drained)).to.equal(false);
    holds = 0;
    drain.check();
    expect(await resolved(drained)).to.equal(true);
  });

  it('a completed pipeline waits for its dead letters', async () => {
    let pending = 1;
    const drain = new AgentDrain({ unsettled: () => 3, pendingDeadLetters: () => pending, holds: () => 0 });
    const drained = drain.wait();
    drain.pipelineDone();
    expect(await resolved(drained)).to.equal(false);
    pending = 0;
    drain.check();
    expect(await resolved(drained)).to.equal(true);
  });

  it('counts no holds when it is given no count of them', async () => {
    const drain = new AgentDrain({ unsettled: () => 0, pendingDeadLetters: () => 0 });
    const drained = drain.wait();
    drain.check();
    expect(await resolved(drained)).to.equal(true);
  });
});
