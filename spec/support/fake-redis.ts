import type { Observable } from 'rxjs';
import type { RedisExecResult } from '../../lib/redis.js';

/** A fake ioredis client: records each pipeline's ZADDs, answers exec() with what `exec` returns. */
export function fakeRedis(exec: (commands: string[][]) => Observable<RedisExecResult>) {
  const pipelines: string[][][] = [];
  const client = {
    pipeline() {
      const commands: string[][] = [];
      pipelines.push(commands);
      const pipeline = {
        zadd(key: string, score: number, member: string) {
          commands.push(['zadd', key, String(score), member]);
          return pipeline;
        },
        exec: () => exec(commands),
      };
      return pipeline;
    },
  };
  return { client, pipelines };
}

/** An exec() reply where every command succeeded. */
export const allOk = (commands: string[][]): RedisExecResult => commands.map(() => [null, 1] as const);
