import { expect } from 'chai';
import { GroupMembership } from '../../../lib/transports/group-membership.js';

describe('GroupMembership', () => {
  it('counts joins, partitions gained and lost, and the time from a rebalance starting to the join', () => {
    let now = 1000;
    const membership = new GroupMembership(() => now);
    now = 1400;
    membership.joined({ memberId: 'm1', leader: false, gained: 3, lost: 0, partitions: 3, durationMs: 90 });
    expect(membership.stats()).to.deep.include({
      state: 'stable',
      rebalances: 1,
      rebalanceMs: 400, // since it started joining, not kafkajs's own 90 ms of JoinGroup + SyncGroup
      lastRebalanceMs: 400,
      lastJoinAt: 1400,
      rebalancingSince: undefined,
    });

    now = 5000;
    membership.rebalancing();
    now = 5100;
    membership.rebalancing(); // heard again: the rebalance still started at 5000
    expect(membership.stats()).to.include({ state: 'rebalancing', rebalancingSince: 5000 });
    now = 6250;
    membership.joined({ memberId: 'm1', leader: true, gained: 1, lost: 2, partitions: 2, durationMs: 80 });
    membership.generation(7);
    expect(membership.stats()).to.deep.include({
      state: 'stable',
      generation: 7,
      leader: true,
      rebalances: 2,
      partitions: 2,
      partitionsGained: 4,
      partitionsLost: 2,
      rebalanceMs: 1650,
      lastRebalanceMs: 1250,
    });

    // a join nobody saw coming (kafkajs rejoined on its own): kafkajs's duration
    now = 9000;
    membership.joined({ memberId: 'm1', leader: true, gained: 0, lost: 0, partitions: 2, durationMs: 80 });
    expect(membership.stats()).to.include({ rebalanceMs: 1730, lastRebalanceMs: 80 });
  });

  it('a crash loses every partition and joins again; leaving loses them for good', () => {
    let now = 0;
    const membership = new GroupMembership(() => now);
    membership.joined({ memberId: 'm1', leader: false, gained: 4, lost: 0, partitions: 4 });
    now = 100;
    membership.dropped(true);
    expect(membership.stats()).to.include({
      state: 'joining',
      partitions: 0,
      partitionsLost: 4,
      memberId: undefined,
      rebalancingSince: 100,
    });
    now = 700;
    membership.joined({ memberId: 'm2', leader: false, gained: 2, lost: 0, partitions: 2 });
    expect(membership.stats()).to.include({ lastRebalanceMs: 600, partitionsGained: 6 });
    membership.left();
    expect(membership.stats()).to.include({ state: 'left', partitions: 0, partitionsLost: 6 });
    membership.generation(-1); // not a generation
    expect(membership.stats().generation).to.equal(-1);
  });
});
