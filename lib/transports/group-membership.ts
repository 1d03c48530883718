/**
 * Where a consumer stands in its group: `joining` (first join, or again after a crash), `rebalancing`
 * (the group is forming a new generation; this member processes nothing meanwhile), `stable`, `left`.
 *
 * @example
 * ```ts
 * const state: GroupMemberState = agent.stats().group?.state ?? 'joining';
 * ```
 */
export type GroupMemberState = 'joining' | 'rebalancing' | 'stable' | 'left';

/**
 * A consumer's view of its consumer group: generation, rebalances, partitions gained and lost, time
 * spent rebalancing. In `agent.stats().group`, `/metrics` and on the live page.
 *
 * @example
 * ```ts
 * const group = agent.stats().group;
 * if (group) console.log(`generation ${group.generation}: ${group.rebalances} rebalances, ${group.rebalanceMs} ms`);
 * ```
 */
export interface GroupStats {
  readonly state: GroupMemberState;
  /** Generation of the group as this member last heard it (-1 until known). */
  readonly generation: number;
  /** This member's id in the group, once joined. */
  readonly memberId: string | undefined;
  /** Whether this member computed the last assignment (the group's leader). */
  readonly leader: boolean;
  /** Times this member joined its group (the first join included). */
  readonly rebalances: number;
  /** Partitions this member owns now. */
  readonly partitions: number;
  /** Partitions assigned to this member, summed over its joins. */
  readonly partitionsGained: number;
  /** Partitions taken from this member (moved to another, or given up on a crash or stop), summed. */
  readonly partitionsLost: number;
  /** Milliseconds spent joining and rebalancing, summed. */
  readonly rebalanceMs: number;
  /** Milliseconds the last join took (undefined before the first). */
  readonly lastRebalanceMs: number | undefined;
  /** Since when (ms since the epoch) the member has been joining or rebalancing; undefined when stable. */
  readonly rebalancingSince: number | undefined;
  /** When (ms since the epoch) the member last joined. */
  readonly lastJoinAt: number | undefined;
}

/**
 * What a consumer learned on joining its group.
 *
 * @example
 * ```ts
 * membership.joined({ memberId: 'm-1', leader: true, gained: 2, lost: 1, partitions: 4 });
 * ```
 */
export interface GroupJoin {
  readonly memberId: string;
  readonly leader: boolean;
  readonly gained: number;
  readonly lost: number;
  /** Partitions owned after the join. */
  readonly partitions: number;
  /** How long the join took, as the client measured it (used when no rebalance was seen starting). */
  readonly durationMs?: number;
  /** The new generation, when the client tells it at once. */
  readonly generation?: number;
}

/**
 * Keeps a consumer's {@link GroupStats} from the events of its client: a rebalance starting, a join, a
 * generation heard (heartbeats and commits carry it), a crash, leaving.
 *
 * @example
 * ```ts
 * const membership = new GroupMembership();
 * membership.joined({ memberId: 'm-1', leader: true, gained: 3, lost: 0, partitions: 3 });
 * membership.rebalancing();
 * membership.stats().state; // 'rebalancing'
 * ```
 */
export class GroupMembership {
  #state: GroupMemberState = 'joining';
  #since: number | undefined;
  #generation = -1;
  #memberId: string | undefined;
  #leader = false;
  #rebalances = 0;
  #partitions = 0;
  #gained = 0;
  #lost = 0;
  #rebalanceMs = 0;
  #lastRebalanceMs: number | undefined;
  #lastJoinAt: number | undefined;

  /** @param now The clock (ms since the epoch). */
  constructor(private readonly now: () => number = Date.now) {
    this.#since = now();
  }

  /** The group started forming a new generation (heard on a heartbeat or a commit). */
  rebalancing(): void {
    if (this.#state !== 'stable') return;
    this.#state = 'rebalancing';
    this.#since = this.now();
  }

  /** The member (re)joined its group with a new assignment. */
  joined(join: GroupJoin): void {
    const now = this.now();
    const took =
      this.#since !== undefined && this.#state !== 'stable' ? now - this.#since : (join.durationMs ?? 0);
    this.#state = 'stable';
    this.#since = undefined;
    this.#memberId = join.memberId;
    this.#leader = join.leader;
    if (join.generation !== undefined) this.#generation = join.generation;
    this.#rebalances++;
    this.#partitions = join.partitions;
    this.#gained += join.gained;
    this.#lost += join.lost;
    this.#rebalanceMs += took;
    this.#lastRebalanceMs = took;
    this.#lastJoinAt = now;
  }

  /** A generation heard from the coordinator (kafkajs's heartbeats and commits carry it). */
  generation(generation: number): void {
    if (Number.isInteger(generation) && generation >= 0) this.#generation = generation;
  }

  /** The member lost its partitions and its place (a crash): `rejoining` or, for good, `left`. */
  dropped(rejoining: boolean): void {
    this.#lose();
    this.#memberId = undefined;
    this.#state = rejoining ? 'joining' : 'left';
    this.#since = rejoining ? this.now() : undefined;
  }

  /** The member left its group (stopped). */
  left(): void {
    this.#lose();
    this.#state = 'left';
    this.#since = undefined;
  }

  stats(): GroupStats {
    return {
      state: this.#state,
      generation: this.#generation,
      memberId: this.#memberId,
      leader: this.#leader,
      rebalances: this.#rebalances,
      partitions: this.#partitions,
      partitionsGained: this.#gained,
      partitionsLost: this.#lost,
      rebalanceMs: this.#rebalanceMs,
      lastRebalanceMs: this.#lastRebalanceMs,
      rebalancingSince: this.#since,
      lastJoinAt: this.#lastJoinAt,
    };
  }

  #lose(): void {
    this.#lost += this.#partitions;
    this.#partitions = 0;
  }
}
