import { RivuletError } from '../../core/errors.js';

/**
 * A write failed because the Redis client is not connected: the message says why the connection fails
 * (`connect ECONNREFUSED 127.0.0.1:6379`), as the client last reported it on its `'error'` event, and
 * `cause` is what the command was rejected with (ioredis: "Reached the max retries per request limit",
 * "Stream isn't writeable…"). Retriable: the agent holds its messages until Redis is back.
 *
 * @example
 * ```ts
 * if (error instanceof RedisConnectionError) console.warn(`redis down: ${error.message}`);
 * ```
 */
export class RedisConnectionError extends RivuletError {
  constructor(connection: Error, cause: unknown) {
    const code = (connection as { code?: unknown }).code;
    const text = connection.message || connection.name;
    super(typeof code === 'string' && !text.includes(code) ? `${code} ${text}` : text, { cause });
  }
}
