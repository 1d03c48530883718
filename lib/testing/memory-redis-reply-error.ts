import { RivuletError } from '../core/errors.js';

/**
 * What {@link MemoryRedis} answers a command Redis would refuse (a key of another type, a value that is
 * not an integer), shaped as ioredis's `ReplyError`: named `ReplyError`, with `command.name`. So
 * `toRedis` treats it as Redis's own refusal: not retried, the messages dead-lettered.
 *
 * @example
 * ```ts
 * const [[error]] = (await redis.pipeline().zadd('greeting', 1, 'x').exec())!; // 'greeting' holds a string
 * error instanceof MemoryRedisReplyError; // true: "WRONGTYPE Operation against a key holding the wrong kind of value"
 * ```
 */
export class MemoryRedisReplyError extends RivuletError {
  override readonly retriable = false;
  /** The refused command, as ioredis reports it. */
  readonly command: { readonly name: string };

  constructor(command: string, message: string) {
    super(message);
    this.name = 'ReplyError';
    this.command = { name: command };
  }
}
