import type { AgentOptions } from '../agent/agent.js';
import type { Codec } from '../codecs/codec.js';
import { string } from '../codecs/string.js';
import type { App } from '../app/app.js';
import { ConfigurationError } from '../core/errors.js';
import type { Message, MessageHeaders } from '../core/message.js';
import { REPARTITION_HEADERS } from '../core/repartition-headers.js';
import { CommittedOffsets } from './committed-offsets.js';
import type { Topic } from '../topics/topic.js';
import { mapValue } from '../operators/map-value.js';
import { sink } from '../sinks/sink.js';
import type { ProducerRecord } from '../transports/transport.js';

export { REPARTITION_HEADERS } from '../core/repartition-headers.js';

/**
 * Options of {@link repartition}.
 *
 * @example
 * ```ts
 * const options: RepartitionOptions<string> = { partitions: 12, agent: { maxInFlight: 1000 } };
 * ```
 */
export interface RepartitionOptions<K2> {
  /** Partitions of the internal topic when it is created (default: those declared for the source topic, else the broker's default). */
  readonly partitions?: number;
  /** Codec of the new keys (default `string()`: give one when the key function returns something else). */
  readonly keyCodec?: Codec<K2>;
  /** Replication factor of the internal topic when it is created (Kafka only). */
  readonly replicationFactor?: number;
  /** Configuration of the internal topic when it is created (Kafka only), e.g. its retention. */
  readonly config?: Readonly<Record<string, string>>;
  /** Options of the copy agent (in flight, error policy…), over the app's `agentDefaults`. */
  readonly agent?: AgentOptions;
}

/**
 * Re-keys a topic through an internal topic, as Faust's `group_by`: for a table keyed by a field the
 * source topic is not keyed by (orders keyed by user, counted per symbol). Declares the internal topic
 * `<app id>-<name>-repartition` (the source's value codec, `partitions` or the source's declared
 * partition count) and an agent `<name>-repartition` that copies every source message to it, keyed by
 * `key(message)`, with its value, headers (plus {@link REPARTITION_HEADERS}) and timestamp. Returns the
 * internal topic: give it to `app.agent()`.
 *
 * The hop keeps rivulet's contract: a source message settles (and its offset is committed) only once the
 * broker acknowledged its copy, so nothing is lost; after a crash of the copy agent, what it had copied
 * but not committed is copied again (at least once across the hop). Each copy carries its origin and
 * the copy agent's committed offset of the origin partition ({@link REPARTITION_HEADERS}), so a table, a
 * windowed table or a join fed by the internal topic recognises a second copy and counts the record
 * once: **exact across the hop** for state; a plain consumer of the internal topic may see a copy twice. A `key` that throws, or a key the codec cannot encode, sends that message to
 * the copy agent's error policy (by default retried, then the dead-letter topic `<source>.dlq`); a produce
 * that keeps failing is an outage: the agent holds, nothing is dead-lettered.
 *
 * @example
 * ```ts
 * const orders = app.topic('orders', { value: json(Order), partitions: 6 }); // keyed by user
 * const bySymbol = repartition(app, 'by-symbol', orders, (m) => m.value.symbol);
 * const counts = app.table('order-count', { value: json(z.number()), default: () => 0 });
 * app.agent('count', bySymbol, (order$) => order$.pipe(updateTable(counts, (n) => n + 1)));
 * ```
 */
export function repartition<T, K>(
  app: App,
  name: string,
  source: Topic<T, K>,
  key: (message: Message<T, K | null>) => string | null,
  options?: RepartitionOptions<string>,
): Topic<T, string>;
/**
 * Re-keys a topic with keys of another type, encoded by `options.keyCodec`.
 *
 * @example
 * ```ts
 * const byAccount = repartition(app, 'by-account', fills, (m) => m.value.accountId, { keyCodec: json(z.number()) });
 * ```
 */
export function repartition<T, K, K2>(
  app: App,
  name: string,
  source: Topic<T, K>,
  key: (message: Message<T, K | null>) => K2 | null,
  options: RepartitionOptions<K2> & { readonly keyCodec: Codec<K2> },
): Topic<T, K2>;
export function repartition<T, K, K2>(
  app: App,
  name: string,
  source: Topic<T, K>,
  key: (message: Message<T, K | null>) => K2 | null,
  options: RepartitionOptions<K2> = {},
): Topic<T, K2> {
  if (app.agents.some((agent) => agent.name === `${name}-repartition`)) {
    throw new ConfigurationError(`Repartition ${name} is declared twice (agent ${name}-repartition exists)`);
  }
  const partitions = options.partitions ?? source.options.partitions;
  const target = app.topic<T, K2>(`${app.id}-${name}-repartition`, {
    value: source.valueCodec,
    key: options.keyCodec ?? (string() as Codec<K2>),
    ...(partitions !== undefined ? { partitions } : {}),
    ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
  });
  copyTopic(app, `${name}-repartition`, source, target, { key, value: (value) => value }, options.agent);
  return target;
}

/**
 * @internal Declares the agent `agentName` that copies every message of `source` to `target`, keyed
 * by `copy.key(message)`, its value made by `copy.value`, its timestamp `copy.timestamp` (default the
 * source's), with its headers (plus {@link REPARTITION_HEADERS}: the
 * origin and the copy agent's committed offset, so state behind the hop counts a record once). A source message settles once the broker acknowledged its copy. What `repartition` and
 * a stream join's copy agents run.
 * @throws ConfigurationError when an agent of that name exists.
 */
export function copyTopic<T, K, V2, K2>(
  app: App,
  agentName: string,
  source: Topic<T, K>,
  target: Topic<V2, K2>,
  copy: {
    readonly key: (message: Message<T, K | null>) => K2 | null;
    readonly value: (value: T, message: Message<T, K | null>) => V2;
    readonly timestamp?: (message: Message<T, K | null>) => number;
  },
  options?: AgentOptions,
): void {
  if (app.agents.some((agent) => agent.name === agentName)) {
    throw new ConfigurationError(`Agent ${agentName} is declared twice`);
  }
  const committed = new CommittedOffsets();
  // Encoding happens per message, before the sink: a bad key fails its own message, not a whole batch.
  const encode = (original: T, message: Message<T, K | null>): ProducerRecord =>
    target.encode({
      key: copy.key(message),
      value: copy.value(original, message),
      headers: originHeaders(message, target.name, committed.of(message.partition)),
      timestamp: copy.timestamp ? copy.timestamp(message) : message.timestamp,
    });
  const agent = app.agent(
    agentName,
    source,
    (message$) =>
      message$.pipe(
        mapValue(encode),
        sink<ProducerRecord, K | null>(
          async (batch) =>
            (await app.transportFor(target as Topic<unknown, unknown>)).produce(batch.map((m) => m.value)),
          { name: `topic:${target.name}` },
        ),
      ),
    options,
  );
  agent.scope.use(committed);
}

function originHeaders(message: Message<unknown, unknown>, via: string, committed: number): MessageHeaders {
  return {
    ...message.headers,
    [REPARTITION_HEADERS.topic]: message.topic,
    [REPARTITION_HEADERS.partition]: String(message.partition),
    [REPARTITION_HEADERS.offset]: String(message.offset),
    [REPARTITION_HEADERS.committed]: String(committed),
    [REPARTITION_HEADERS.via]: via,
  };
}
