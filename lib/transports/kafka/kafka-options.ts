import type { ConnectionOptions } from 'node:tls';
import type { RetryOptions, SASLOptions } from 'kafkajs';
import { ConfigurationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/**
 * Settings of {@link KafkaTransport}. Connection settings (`ssl`, `sasl`, timeouts, `retry`) are passed to
 * kafkajs as they are; consumer settings apply to every consumer the transport creates.
 *
 * @example
 * ```ts
 * const options: KafkaTransportOptions = {
 *   brokers: ['kafka-1:9093', 'kafka-2:9093'],
 *   clientId: 'orders',
 *   ssl: true,
 *   sasl: { mechanism: 'scram-sha-512', username: 'orders', password: process.env.KAFKA_PASSWORD! },
 * };
 * ```
 */
export interface KafkaTransportOptions {
  /** `host:port` of one or more brokers to bootstrap from. */
  readonly brokers: readonly string[];
  /** Client id sent to the brokers (default `rivulet`). */
  readonly clientId?: string;
  /** TLS: `true` for the system's CAs, or Node's TLS options (ca, cert, key…). */
  readonly ssl?: boolean | ConnectionOptions;
  /** SASL in kafkajs's shape, e.g. `{ mechanism: 'plain', username, password }`. Never logged. */
  readonly sasl?: SASLOptions;
  /** Milliseconds to wait for a connection (kafkajs default 1000). */
  readonly connectionTimeout?: number;
  /** Milliseconds to wait for SASL authentication. */
  readonly authenticationTimeout?: number;
  /** Milliseconds to wait for a request (kafkajs default 30 000). */
  readonly requestTimeout?: number;
  /** kafkajs retry settings for the connection. */
  readonly retry?: RetryOptions;
  /** Consumer session timeout in ms (kafkajs default 30 000): how soon a dead worker's partitions move. */
  readonly sessionTimeout?: number;
  /** Consumer heartbeat interval in ms (kafkajs default 3000); keep it below a third of `sessionTimeout`. */
  readonly heartbeatInterval?: number;
  /** Consumer rebalance timeout in ms (kafkajs default 60 000). */
  readonly rebalanceTimeout?: number;
  /** Longest a fetch waits for data, in ms (default 500, as the Java client; kafkajs's own is 5000). */
  readonly maxWaitTimeInMs?: number;
  /** Most bytes fetched per partition per request (kafkajs default 1 MiB). */
  readonly maxBytesPerPartition?: number;
  /** Most bytes per fetch response (kafkajs default 10 MiB). */
  readonly maxBytes?: number;
  /** Where kafkajs's own log lines go (ERROR → error, WARN → warn, INFO and DEBUG → debug). */
  readonly logger?: Logger;
  /** Also forward kafkajs's DEBUG lines (very verbose; default false). */
  readonly debugClient?: boolean;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
type UrlSaslMechanism = (typeof SASL_MECHANISMS)[number];
const URL_PARAMETERS = ['ssl', 'sasl', 'clientId', 'connectionTimeout', 'requestTimeout'];

/**
 * Reads a `kafka://` URL: `kafka://[user:pass@]host:port[,host:port…][?ssl=true&sasl=plain|scram-sha-256|scram-sha-512&clientId=…]`.
 * User and password are URL-decoded; with credentials and no `sasl` parameter the mechanism is `plain`.
 * Throws {@link ConfigurationError} (with the credentials masked) for anything it cannot use.
 *
 * @example
 * ```ts
 * parseKafkaUrl('kafka://app:s3cret@kafka-1:9093,kafka-2:9093?ssl=true&sasl=scram-sha-512', 'orders');
 * // { brokers: ['kafka-1:9093', 'kafka-2:9093'], clientId: 'orders', ssl: true, sasl: { mechanism: 'scram-sha-512', … } }
 * ```
 */
export function parseKafkaUrl(url: string, defaultClientId?: string): KafkaTransportOptions {
  const masked = url.replace(/\/\/[^@/]*@/, '//***@');
  const match = /^kafka:\/\/(?:([^@/]*)@)?([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) throw new ConfigurationError(`Not a kafka:// URL: ${masked}`);
  const [, credentials, hostList, query] = match;
  const brokers = hostList!.split(',').map((host) => host.trim());
  for (const broker of brokers) {
    if (!/^(\[[0-9a-f:.]+\]|[^:\s[\]]+):\d{1,5}$/i.test(broker))
      throw new ConfigurationError(`Broker address "${broker}" in ${masked} is not host:port`);
  }
  const params = new URLSearchParams(query ?? '');
  for (const name of params.keys()) {
    if (!URL_PARAMETERS.includes(name))
      throw new ConfigurationError(
        `Unknown parameter "${name}" in ${masked} (known: ${URL_PARAMETERS.join(', ')})`,
      );
  }
  const ssl = params.get('ssl');
  if (ssl !== null && ssl !== 'true' && ssl !== 'false')
    throw new ConfigurationError(`ssl must be true or false in ${masked}`);
  let sasl: SASLOptions | undefined;
  const mechanism = params.get('sasl');
  if (mechanism !== null && !SASL_MECHANISMS.includes(mechanism as UrlSaslMechanism))
    throw new ConfigurationError(
      `sasl must be one of ${SASL_MECHANISMS.join(', ')} in ${masked}, not "${mechanism}"`,
    );
  if (credentials !== undefined) {
    const colon = credentials.indexOf(':');
    if (colon < 0) throw new ConfigurationError(`Credentials in ${masked} must be user:password`);
    const username = decodeURIComponent(credentials.slice(0, colon));
    const password = decodeURIComponent(credentials.slice(colon + 1));
    sasl = saslOptions((mechanism as UrlSaslMechanism | null) ?? 'plain', username, password);
  } else if (mechanism !== null) {
    throw new ConfigurationError(`sasl=${mechanism} in ${masked} needs user:password@ before the hosts`);
  }
  const clientId = params.get('clientId') ?? defaultClientId;
  return {
    brokers,
    ...(clientId ? { clientId } : {}),
    ...(ssl === 'true' ? { ssl: true } : {}),
    ...(sasl ? { sasl } : {}),
    ...numberParam(params, 'connectionTimeout', masked),
    ...numberParam(params, 'requestTimeout', masked),
  };
}

function saslOptions(mechanism: UrlSaslMechanism, username: string, password: string): SASLOptions {
  switch (mechanism) {
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
  }
}

function numberParam(
  params: URLSearchParams,
  name: 'connectionTimeout' | 'requestTimeout',
  masked: string,
): Partial<Record<typeof name, number>> {
  const text = params.get(name);
  if (text === null) return {};
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new ConfigurationError(`${name} must be a positive integer (ms) in ${masked}`);
  return { [name]: value };
}

/**
 * A one-line description of the connection for logs: brokers, TLS and SASL mechanism, never a secret.
 *
 * @example
 * ```ts
 * describeKafka({ brokers: ['k1:9093'], ssl: true, sasl }); // 'kafka://k1:9093 (ssl, sasl scram-sha-512)'
 * ```
 */
export function describeKafka(options: KafkaTransportOptions): string {
  const extras: string[] = [];
  if (options.ssl) extras.push('ssl');
  if (options.sasl) extras.push(`sasl ${options.sasl.mechanism}`);
  const brokers = options.brokers.join(',');
  return extras.length ? `kafka://${brokers} (${extras.join(', ')})` : `kafka://${brokers}`;
}

/**
 * The secret strings of the settings (SASL passwords and tokens, TLS keys and passphrases), to mask in
 * anything logged.
 *
 * @example
 * ```ts
 * secretsOf({ brokers: ['k:1'], sasl: { mechanism: 'plain', username: 'u', password: 'p' } }); // ['p']
 * ```
 */
export function secretsOf(options: KafkaTransportOptions): string[] {
  const secrets: unknown[] = [];
  const sasl: object | undefined = options.sasl;
  if (sasl) {
    for (const [name, value] of Object.entries(sasl)) {
      if (name !== 'mechanism' && name !== 'username' && name !== 'authorizationIdentity')
        secrets.push(value);
    }
  }
  if (typeof options.ssl === 'object') secrets.push(options.ssl.key, options.ssl.passphrase, options.ssl.pfx);
  return secrets
    .flat()
    .map((secret) => (Buffer.isBuffer(secret) ? secret.toString('utf8') : secret))
    .filter((secret): secret is string => typeof secret === 'string' && secret.length >= 3);
}
