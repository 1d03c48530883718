import type { Logger } from '../core/logger.js';
import { BrokerUrlError } from './broker-url-error.js';
import { MemoryTransport, memoryBroker } from './memory/memory-transport.js';
import type { Transport } from './transport.js';

const EXPECTED = 'expected kafka://host:port[,host:port…] or memory://[name]';

/**
 * The transport for a broker URL (its client logs through `logger`): `memory://` or `memory://<name>` (an in-process broker shared by the
 * apps that name it) and `kafka://host:port[,host:port…]`. A URL it cannot use throws
 * {@link BrokerUrlError}, whose message says what is wrong without repeating the URL.
 *
 * @example
 * ```ts
 * const transport = await resolveTransport('memory://tests', 'my-app');
 * ```
 */
export async function resolveTransport(url: string, clientId: string, logger?: Logger): Promise<Transport> {
  const text = url.trim();
  if (/^kafka:/i.test(text)) {
    // Loaded on demand: memory:// users never load kafkajs.
    const { KafkaTransport } = await import('./kafka/kafka-transport.js');
    return KafkaTransport.fromUrl(text, clientId, logger ? { logger } : {});
  }
  if (/^memory:/i.test(text)) return new MemoryTransport(memoryBroker(memoryName(text)));
  throw new BrokerUrlError(notBrokerUrl(text));
}

function memoryName(text: string): string {
  const rest = text.slice('memory:'.length);
  if (!rest.startsWith('//')) throw new BrokerUrlError("missing '//' after memory:");
  const name = rest.slice(2);
  if (name.includes('@')) throw new BrokerUrlError('memory:// takes no credentials');
  return name || 'default';
}

/** Why a URL is not a broker URL, naming its scheme only when nothing in it can be a credential. */
function notBrokerUrl(text: string): string {
  const scheme = /^([a-z][a-z0-9+.-]{0,15}):\/\//i.exec(text)?.[1];
  if (scheme && !text.includes('@')) return `unsupported scheme ${scheme}:// (${EXPECTED})`;
  if (text.includes('@')) return `no kafka:// scheme before the credentials (${EXPECTED})`;
  return `not a broker URL (${EXPECTED})`;
}
