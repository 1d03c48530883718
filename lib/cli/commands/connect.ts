import type { Logger } from '../../core/logger.js';
import { resolveTransport } from '../../transports/resolve-transport.js';
import type { Transport } from '../../transports/transport.js';
import { SharedBrokerRequiredError } from '../cli-errors.js';

/** Which command connects, and where its client logs. @internal */
export interface ConnectContext {
  readonly command: 'send' | 'tail';
  readonly logger?: Logger;
}

/** Opens a transport for a broker URL; the CLI's default, replaced in tests. @internal */
export type Connect = (broker: string, context: ConnectContext) => Promise<Transport>;

/**
 * The broker the CLI uses without `--broker`: `$RIVULET_BROKER`, else `$KAFKA_URL`, else `memory://`
 * (which `send` and `tail` refuse, saying how to name a shared broker). @internal
 */
export const defaultBroker = (): string => process.env.RIVULET_BROKER || process.env.KAFKA_URL || 'memory://';

const WHY_NOT_MEMORY: Record<ConnectContext['command'], string> = {
  send: 'a record sent to memory:// vanishes when this command exits, and no other process ever sees it',
  tail: 'memory:// lives inside one process, so this one would wait forever on a topic nobody else can write to',
};

/**
 * Refuses `memory://` for a command that talks to other processes, with the fix in the message.
 *
 * @example
 * ```ts
 * requireSharedBroker('tail', 'memory://'); // throws SharedBrokerRequiredError
 * ```
 * @internal
 */
export function requireSharedBroker(command: ConnectContext['command'], broker: string): void {
  if (!/^\s*memory:/i.test(broker)) return;
  throw new SharedBrokerRequiredError(
    `${command} needs a shared broker: ${WHY_NOT_MEMORY[command]}. ` +
      'Pass --broker kafka://host:9092 or set KAFKA_URL (or RIVULET_BROKER)',
  );
}

/**
 * Resolves and connects the transport of a broker URL for the CLI's short-lived clients, refusing
 * `memory://` (see {@link requireSharedBroker}).
 *
 * @example
 * ```ts
 * const transport = await connectBroker('kafka://localhost:9092', { command: 'tail', logger });
 * ```
 */
export const connectBroker: Connect = async (broker, { command, logger }) => {
  requireSharedBroker(command, broker);
  const transport = await resolveTransport(broker, 'rivulet-cli', logger);
  try {
    await transport.connect();
  } catch (error) {
    await transport.close().catch(() => {});
    throw error;
  }
  return transport;
};
