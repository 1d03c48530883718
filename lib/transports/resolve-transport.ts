import { ConfigurationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { MemoryTransport, memoryBroker } from './memory/memory-transport.js';
import type { Transport } from './transport.js';

/**
 * The transport for a broker URL (its client logs through `logger`): `memory://` or `memory://<name>` (an in-process broker shared by the
 * apps that name it) and `kafka://host:port[,host:port…]`.
 *
 * @example
 * ```ts
 * const transport = await resolveTransport('memory://tests', 'my-app');
 * ```
 */
export async function resolveTransport(url: string, clientId: string, logger?: Logger): Promise<Transport> {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!match)
    throw new ConfigurationError(`Not a broker URL: ${redact(url)} (try memory:// or kafka://host:port)`);
  const [, scheme, rest] = match;
  switch (scheme!.toLowerCase()) {
    case 'memory':
      return new MemoryTransport(memoryBroker(rest || 'default'));
    case 'kafka': {
      // Loaded on demand: memory:// users never load kafkajs.
      const { KafkaTransport } = await import('./kafka/kafka-transport.js');
      return KafkaTransport.fromUrl(url, clientId, logger ? { logger } : {});
    }
    default:
      throw new ConfigurationError(`Unsupported broker scheme ${scheme}:// (use memory:// or kafka://)`);
  }
}

/** A URL without its credentials, for messages and logs. @internal */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
