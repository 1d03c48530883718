import { RivuletError } from '../../core/errors.js';

/** Reply prefixes of errors that go away by themselves (server loading, busy, failing over…). */
const TRANSIENT = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|NOREPLICAS|READONLY|OOM)\b/;

/**
 * A Redis command failed inside a pipeline (ioredis reports it in the `exec()` tuples, not by
 * rejecting): the whole write fails. Names the command's index in the pipeline and, when ioredis
 * tells, its name. Not retriable when Redis refused the command itself (`WRONGTYPE`, `ERR syntax`…):
 * the agent dead-letters the messages; retriable for transient replies (`LOADING`, `BUSY`, `OOM`…) and
 * connection errors.
 *
 * @example
 * ```ts
 * if (error.cause instanceof RedisCommandError) console.log(error.cause.index, error.cause.command);
 * ```
 */
export class RedisCommandError extends RivuletError {
  override readonly retriable: boolean;
  /** The command's name, when the client reports it (ioredis sets `error.command.name`). */
  readonly command: string | undefined;

  constructor(
    /** Position of the failed command in the pipeline (0-based). */
    readonly index: number,
    cause: unknown,
  ) {
    const command = commandName(cause);
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Redis command #${index}${command ? ` (${command})` : ''} failed: ${reason}`, { cause });
    this.command = command;
    const isReply = cause instanceof Error && cause.name === 'ReplyError';
    this.retriable = !isReply || TRANSIENT.test(cause.message);
  }
}

function commandName(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const command = (cause as { command?: { name?: unknown } }).command;
  return typeof command?.name === 'string' ? command.name : undefined;
}
