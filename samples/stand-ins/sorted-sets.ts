/**
 * A stand-in for Redis sorted sets, in process, for running the feed sample with no Redis server.
 * It speaks just enough of ioredis's pipeline API (`pipeline().zadd(...).exec()`).
 */
export class SortedSetsStandIn {
  readonly sets = new Map<string, Map<string, number>>();

  pipeline() {
    const queued: [string, number, string][] = [];
    const pipeline = {
      zadd: (key: string, score: number, member: string) => {
        queued.push([key, score, member]);
        return pipeline;
      },
      exec: async (): Promise<[Error | null, unknown][]> =>
        queued.map(([key, score, member]) => {
          let set = this.sets.get(key);
          if (!set) this.sets.set(key, (set = new Map()));
          const added = set.has(member) ? 0 : 1;
          set.set(member, score);
          return [null, added];
        }),
    };
    return pipeline;
  }

  /** Members of a set, highest score first (as ZREVRANGE key 0 count-1). */
  latest(key: string, count: number): string[] {
    return [...(this.sets.get(key) ?? new Map<string, number>()).entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([member]) => member);
  }

  get size(): number {
    let total = 0;
    for (const set of this.sets.values()) total += set.size;
    return total;
  }
}
