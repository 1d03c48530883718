import type { ConnectionOptions } from 'node:tls';
import type { RetryOptions, SASLOptions } from 'kafkajs';
import { ConfigurationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/redact.js';
import { BrokerUrlError } from '../broker-url-error.js';

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
  /**
   * Consumer session timeout in ms: how soon the group gives a crashed worker's partitions to the others
   * (a worker that stops gracefully leaves at once). The broker refuses values outside its
   * `group.min.session.timeout.ms` (6 000 by default) and `group.max.session.timeout.ms`.
   * @defaultValue 10000 (kafkajs's own is 30 000)
   */
  readonly sessionTimeout?: number;
  /**
   * Consumer heartbeat interval in ms: how soon a worker hears of a rebalance. Must be below
   * `sessionTimeout`; a third of it or less leaves room for two missed heartbeats.
   * @defaultValue 1000 (kafkajs's own is 3000)
   */
  readonly heartbeatInterval?: number;
  /**
   * Consumer rebalance timeout in ms: how long the group waits for every member to rejoin during a
   * rebalance before it drops the ones that did not (the app's `shutdownTimeoutMs` by default).
   * @defaultValue 30000 (kafkajs's own is 60 000)
   */
  readonly rebalanceTimeout?: number;
  /** Longest a fetch waits for data, in ms (default 500, as the Java client; kafkajs's own is 5000). */
  readonly maxWaitTimeInMs?: number;
  /** Most bytes fetched per partition per request (kafkajs default 1 MiB). */
  readonly maxBytesPerPartition?: number;
  /** Most bytes per fetch response (kafkajs default 10 MiB). */
  readonly maxBytes?: number;
  /** Where kafkajs's own log lines go, at the level of what they mean (see `kafkaLogLevelOf`). */
  readonly logger?: Logger;
  /** Also forward kafkajs's DEBUG lines (very verbose; default false). */
  readonly debugClient?: boolean;
}

/**
 * The consumer group's timings rivulet uses unless told otherwise, chosen for a fast failover on a
 * healthy network: a crashed worker's partitions move after about 10 s (kafkajs's defaults: 30 s),
 * a rebalance is heard of within a second, and a member may take as long to rejoin as the app's
 * default `shutdownTimeoutMs`.
 *
 * @example
 * ```ts
 * new KafkaTransport({ brokers, sessionTimeout: GROUP_DEFAULTS.sessionTimeout * 3 }); // a slow network
 * ```
 */
export const GROUP_DEFAULTS = {
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 30_000,
} as const satisfies Partial<KafkaTransportOptions>;

/**
 * A consumer group's timings: session timeout, heartbeat interval, rebalance timeout (ms).
 *
 * @example
 * ```ts
 * const timings: GroupTimings = { sessionTimeout: 10_000, heartbeatInterval: 1000, rebalanceTimeout: 30_000 };
 * ```
 * @internal
 */
export type GroupTimings = { readonly [name in keyof typeof GROUP_DEFAULTS]: number };

/**
 * The group timings of `options`, {@link GROUP_DEFAULTS} where not given. Throws a
 * `ConfigurationError` for a heartbeat interval that is not below the session timeout (the worker
 * would be dropped from its group between two heartbeats).
 *
 * @example
 * ```ts
 * groupTimings({ brokers, sessionTimeout: 6000 }); // { sessionTimeout: 6000, heartbeatInterval: 1000, rebalanceTimeout: 30000 }
 * ```
 * @internal
 */
export function groupTimings(options: KafkaTransportOptions): GroupTimings {
  const timings = {
    sessionTimeout: options.sessionTimeout ?? GROUP_DEFAULTS.sessionTimeout,
    heartbeatInterval: options.heartbeatInterval ?? GROUP_DEFAULTS.heartbeatInterval,
    rebalanceTimeout: options.rebalanceTimeout ?? GROUP_DEFAULTS.rebalanceTimeout,
  };
  for (const [name, value] of Object.entries(timings))
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new ConfigurationError(`Kafka ${name} must be a positive integer (ms), got ${value}`);
  if (timings.heartbeatInterval >= timings.sessionTimeout)
    throw new ConfigurationError(
      `Kafka heartbeatInterval (${timings.heartbeatInterval} ms) must be below sessionTimeout (${timings.sessionTimeout} ms); a third of it or less`,
    );
  return timings;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
type UrlSaslMechanism = (typeof SASL_MECHANISMS)[number];
/** Query parameters of a `kafka://` URL that take a number of milliseconds. */
const MS_PARAMETERS = [
  'connectionTimeout',
  'requestTimeout',
  'sessionTimeout',
  'heartbeatInterval',
  'rebalanceTimeout',
] as const;
type MsParameter = (typeof MS_PARAMETERS)[number];
const URL_PARAMETERS = ['ssl', 'sasl', 'clientId', ...MS_PARAMETERS] as const;
/** Characters that end or split a URL's userinfo: they must be %-encoded inside a user name or password. */
const MUST_ENCODE = new Set(['@', '/', '?', '#']);
const BROKER = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?):(\d{1,5})$/i;

/**
 * Reads a `kafka://` URL: `kafka://[user:pass@]host:port[,host:port…][?ssl=true&sasl=plain|scram-sha-256|scram-sha-512&clientId=…]`,
 * and in milliseconds `connectionTimeout`, `requestTimeout` and the consumer group's `sessionTimeout`,
 * `heartbeatInterval` and `rebalanceTimeout` (see {@link KafkaTransportOptions}). User and password must be URL-encoded (`encodeURIComponent`); with credentials and no `sasl` parameter
 * the mechanism is `plain`. Whatever precedes the last `@` is the userinfo, so an unencoded `@` in a
 * password is reported, not taken for the host. Throws {@link BrokerUrlError}, saying what is wrong
 * without repeating the URL or its credentials, for anything it cannot use.
 *
 * @example
 * ```ts
 * parseKafkaUrl('kafka://app:s3cret@kafka-1:9093,kafka-2:9093?ssl=true&sasl=scram-sha-512', 'orders');
 * // { brokers: ['kafka-1:9093', 'kafka-2:9093'], clientId: 'orders', ssl: true, sasl: { mechanism: 'scram-sha-512', … } }
 * parseKafkaUrl('kafka://kafka-1:9092?sessionTimeout=6000&heartbeatInterval=500');
 * // { brokers: ['kafka-1:9092'], sessionTimeout: 6000, heartbeatInterval: 500 }
 * ```
 */
export function parseKafkaUrl(url: string, defaultClientId?: string): KafkaTransportOptions {
  const text = url.trim();
  if (!/^kafka:/i.test(text)) throw new BrokerUrlError('not a kafka:// URL');
  const afterScheme = text.slice('kafka:'.length);
  const slashes = /^\/*/.exec(afterScheme)![0].length;
  if (slashes === 0) throw new BrokerUrlError("missing '//' after kafka: (expected kafka://host:port)");
  if (slashes === 1) throw new BrokerUrlError("missing '//' after kafka: (found one slash, expected two)");
  if (slashes > 2)
    throw new BrokerUrlError(`too many slashes after kafka: (found ${slashes}, expected kafka://host:port)`);
  const rest = afterScheme.slice(2);
  const at = rest.lastIndexOf('@');
  const credentials = at >= 0 ? parseCredentials(rest.slice(0, at)) : undefined;
  const location = rest.slice(at + 1);
  if (location.includes('#')) throw new BrokerUrlError("a fragment ('#…') after the hosts is not allowed");
  const queryAt = location.indexOf('?');
  const hostList = (queryAt >= 0 ? location.slice(0, queryAt) : location).replace(/\/$/, '');
  const brokers = parseBrokers(hostList);
  const params = parseQuery(queryAt >= 0 ? location.slice(queryAt + 1) : '');
  const ssl = params.get('ssl');
  if (ssl !== undefined && ssl !== 'true' && ssl !== 'false')
    throw new BrokerUrlError('ssl must be true or false');
  const mechanism = params.get('sasl');
  if (mechanism !== undefined && !SASL_MECHANISMS.includes(mechanism as UrlSaslMechanism))
    throw new BrokerUrlError(`sasl must be one of ${SASL_MECHANISMS.join(', ')}`);
  if (credentials === undefined && mechanism !== undefined)
    throw new BrokerUrlError('sasl needs user:password@ before the hosts');
  const sasl = credentials
    ? saslOptions((mechanism as UrlSaslMechanism | undefined) ?? 'plain', credentials[0], credentials[1])
    : undefined;
  const clientId = params.get('clientId') ?? defaultClientId;
  const timings: Partial<Record<MsParameter, number>> = {};
  for (const name of MS_PARAMETERS) {
    const value = msParam(params, name);
    if (value !== undefined) timings[name] = value;
  }
  return {
    brokers,
    ...(clientId ? { clientId } : {}),
    ...(ssl === 'true' ? { ssl: true } : {}),
    ...(sasl ? { sasl } : {}),
    ...timings,
  };
}

function parseCredentials(userinfo: string): [username: string, password: string] {
  if (userinfo === '') throw new BrokerUrlError("nothing before '@' (expected user:password@host:port)");
  const colon = userinfo.indexOf(':');
  if (colon < 0) throw new BrokerUrlError("credentials must be user:password (no ':' before the '@')");
  const username = decodeComponent(userinfo.slice(0, colon), 'user name');
  const password = decodeComponent(userinfo.slice(colon + 1), 'password');
  if (username === '') throw new BrokerUrlError('the user name is empty');
  return [username, password];
}

/** %-decodes a user name or password, saying what is wrong without showing any of it. */
function decodeComponent(raw: string, what: 'user name' | 'password'): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (MUST_ENCODE.has(char)) throw new BrokerUrlError(`${what} must be URL-encoded: found '${char}'`);
    if (char === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/i.test(hex))
        throw new BrokerUrlError(
          `bad %-escape at position ${i + 1} of the ${what} ('%' must be followed by two hex digits; a literal '%' is %25)`,
        );
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = raw.codePointAt(i)!;
      if (code > 0xffff) i++;
      bytes.push(...Buffer.from(String.fromCodePoint(code), 'utf8'));
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw new BrokerUrlError(`the ${what}'s %-escapes do not form valid UTF-8`);
  }
}

function parseBrokers(hostList: string): string[] {
  if (hostList === '') throw new BrokerUrlError('no broker address (expected kafka://host:port)');
  if (hostList.includes('/')) throw new BrokerUrlError("unexpected '/' after the broker addresses");
  const brokers = hostList.split(',').map((host) => host.trim());
  brokers.forEach((broker, i) => {
    const which = brokers.length > 1 ? `broker address ${i + 1} of ${brokers.length}` : 'the broker address';
    if (broker === '') throw new BrokerUrlError(`${which} is empty`);
    const match = BROKER.exec(broker);
    if (!match) {
      const colon = broker.lastIndexOf(':');
      const port = broker.slice(colon + 1);
      const why = colon < 0 ? ' (no port)' : /^\d+$/.test(port) ? '' : ' (the port is not a number)';
      throw new BrokerUrlError(`${which} is not host:port${why}`);
    }
    const port = Number(match[1]);
    if (port < 1 || port > 65_535) throw new BrokerUrlError(`${which} has a port outside 1-65535`);
  });
  return brokers;
}

function parseQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (!(URL_PARAMETERS as readonly string[]).includes(name)) {
      const meant = URL_PARAMETERS.find((known) => known.toLowerCase() === name.toLowerCase());
      throw new BrokerUrlError(
        meant
          ? `unknown parameter (did you mean ${meant}?)`
          : `unknown parameter (known: ${URL_PARAMETERS.join(', ')})`,
      );
    }
    params.set(name, value);
  }
  return params;
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

function msParam(params: Map<string, string>, name: MsParameter): number | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0)
    throw new BrokerUrlError(`${name} must be a positive integer (ms)`);
  return value;
}

/**
 * A one-line description of the connection for logs: brokers, TLS and SASL mechanism, never a secret
 * (credentials written into a broker address by mistake are masked too).
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
  const brokers = redactText(options.brokers.join(','));
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
