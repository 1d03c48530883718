import type { Logger } from '../../core/logger.js';
import type { RecordMetadata } from '../../transports/transport.js';
import { CliUsageError } from '../cli-errors.js';
import { type Connect, connectBroker, defaultBroker } from './connect.js';

/** Options of {@link sendCommand}. @internal */
export interface SendCommandOptions {
  readonly topic: string;
  /** The value, as JSON text. */
  readonly json: string;
  /** Key, as a string (partitioned as the app's default `string()` key codec would). */
  readonly key?: string;
  /** Headers as `name=value`. */
  readonly headers?: readonly string[];
  /** Broker URL (default `$RIVULET_BROKER`, else `$KAFKA_URL`; `memory://` is refused). */
  readonly broker?: string;
  /** Where the client logs (the CLI: stderr). */
  readonly logger?: Logger;
}

/**
 * Parses `name=value` header arguments (the value may contain `=`).
 *
 * @example
 * ```ts
 * parseHeaders(['source=cli', 'trace=a=b']); // { source: 'cli', trace: 'a=b' }
 * ```
 */
export function parseHeaders(headers: readonly string[]): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (const header of headers) {
    const at = header.indexOf('=');
    if (at <= 0) throw new CliUsageError(`A header is name=value, not ${JSON.stringify(header)}`);
    parsed[header.slice(0, at)] = header.slice(at + 1);
  }
  return parsed;
}

/**
 * `rivulet send <topic> <json>`: produces one record (creating the topic with the broker's defaults if
 * missing), the value JSON-encoded as the app's default `json()` codec reads it, and resolves with where
 * it landed. Refuses `memory://`: the record would vanish with this process.
 *
 * @example
 * ```ts
 * await sendCommand({ topic: 'orders', json: '{"user":"u1","symbol":"ACME","quantity":10}', key: 'u1' });
 * ```
 */
export async function sendCommand(
  options: SendCommandOptions,
  connect: Connect = connectBroker,
): Promise<RecordMetadata> {
  let value: unknown;
  try {
    value = JSON.parse(options.json);
  } catch (error) {
    throw new CliUsageError(`The value is not JSON: ${options.json}`, { cause: error });
  }
  const headers = parseHeaders(options.headers ?? []);
  const transport = await connect(options.broker ?? defaultBroker(), {
    command: 'send',
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    await transport.ensureTopics([{ name: options.topic }]); // as an app's first send would
    const [metadata] = await transport.produce([
      {
        topic: options.topic,
        key: options.key === undefined ? null : Buffer.from(options.key, 'utf8'),
        value: Buffer.from(JSON.stringify(value), 'utf8'),
        headers,
      },
    ]);
    return metadata!;
  } finally {
    await transport.close();
  }
}
