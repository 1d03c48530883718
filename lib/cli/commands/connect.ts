import { resolveTransport } from '../../transports/resolve-transport.js';
import type { Transport } from '../../transports/transport.js';

/** Opens a transport for a broker URL; the CLI's default, replaced in tests. @internal */
export type Connect = (broker: string) => Promise<Transport>;

/** The broker the CLI uses without `--broker`: `$RIVULET_BROKER`, else `memory://`. @internal */
export const defaultBroker = (): string => process.env.RIVULET_BROKER ?? 'memory://';

/**
 * Resolves and connects the transport of a broker URL, for the CLI's short-lived clients.
 *
 * @example
 * ```ts
 * const transport = await connectBroker('kafka://localhost:9092');
 * ```
 */
export const connectBroker: Connect = async (broker) => {
  const transport = await resolveTransport(broker, 'rivulet-cli');
  await transport.connect();
  return transport;
};
