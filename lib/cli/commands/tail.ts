import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { TransportRecord } from '../../transports/transport.js';
import { CliUsageError } from '../cli-errors.js';
import { type Connect, connectBroker, defaultBroker } from './connect.js';

/** Options of {@link tailCommand}. @internal */
export interface TailCommandOptions {
  readonly topic: string;
  /** Broker URL (default `$RIVULET_BROKER`, else `$KAFKA_URL`; `memory://` is refused). */
  readonly broker?: string;
  /** Start at the earliest record instead of the end (only what is produced from now on). */
  readonly fromBeginning?: boolean;
  /** Stop after this many records (default: until aborted). */
  readonly max?: number;
  /** Stops tailing (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** How {@link tailCommand} reports. @internal */
export interface TailIo {
  /** Gets one line per record (ending in a newline). */
  write(line: string): void;
  /** Called once the consumer has joined: records produced from now on will be printed. */
  onReady?(): void;
  connect?: Connect;
  /** Where the client logs (the CLI: stderr). */
  logger?: Logger;
}

/** A record as `rivulet tail` prints it. @internal */
export interface TailedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** Parsed JSON when the value is JSON, else its UTF-8 text. */
  readonly value: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

/**
 * A record as `rivulet tail` prints it: key as text, value as JSON when it parses, else as text.
 *
 * @example
 * ```ts
 * JSON.stringify(tailedRecord(record)); // {"partition":0,"offset":3,"key":"u1","value":{"quantity":10},...}
 * ```
 */
export function tailedRecord(partition: number, record: TransportRecord): TailedRecord {
  const text = record.value?.toString('utf8') ?? null;
  let value: unknown = text;
  if (text !== null) {
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
  }
  return {
    partition,
    offset: record.offset,
    key: record.key?.toString('utf8') ?? null,
    value,
    headers: record.headers,
    timestamp: record.timestamp,
  };
}

/**
 * `rivulet tail <topic>`: prints one JSON line per record until `max` records or the signal. It reads in
 * a fresh consumer group of its own (`rivulet-tail-<uuid>`) and never commits, so it moves no app's
 * offsets and starts again where asked on every run. Resolves with the number of records printed.
 * Refuses `memory://`: another process's in-memory topics are out of reach.
 *
 * @example
 * ```ts
 * await tailCommand({ topic: 'orders', fromBeginning: true, max: 10 }, { write: (line) => process.stdout.write(line) });
 * ```
 */
export async function tailCommand(options: TailCommandOptions, io: TailIo): Promise<number> {
  const max = options.max ?? Infinity;
  if (!(max > 0) || (max !== Infinity && !Number.isInteger(max))) {
    throw new CliUsageError(`--max wants a positive whole number, not ${options.max}`);
  }
  if (options.signal?.aborted) return 0;
  const transport = await (io.connect ?? connectBroker)(options.broker ?? defaultBroker(), {
    command: 'tail',
    ...(io.logger ? { logger: io.logger } : {}),
  });
  let printed = 0;
  let finish!: () => void;
  let crash!: (error: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    crash = reject;
  });
  const onAbort = (): void => finish();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const consumer = await consumeOrExplain(options.topic, () =>
      transport.consume(
        {
          groupId: `rivulet-tail-${randomUUID()}`,
          topics: [options.topic],
          fromBeginning: options.fromBeginning ?? false,
        },
        {
          onBatch: (batch) => {
            for (let i = 0; i < batch.records.length; i++) {
              if (printed >= max || options.signal?.aborted) return i;
              io.write(`${JSON.stringify(tailedRecord(batch.partition, batch.records[i]!))}\n`);
              if (++printed >= max) finish();
            }
            return batch.records.length;
          },
          onCrash: (error) => crash(error),
        },
      ),
    );
    io.onReady?.();
    await finished;
    await consumer.stop();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await transport.close();
  }
  return printed;
}

/** Kafka's answer for a topic that does not exist, as kafkajs reports it. */
function isUnknownTopic(error: unknown): boolean {
  return (error as { type?: unknown } | null)?.type === 'UNKNOWN_TOPIC_OR_PARTITION';
}

/** Starts the consumer, saying plainly when the topic does not exist (tail never creates topics). */
async function consumeOrExplain<C>(topic: string, consume: () => Promise<C>): Promise<C> {
  try {
    return await consume();
  } catch (error) {
    if (!isUnknownTopic(error)) throw error;
    throw new CliUsageError(
      `topic ${topic} does not exist (tail never creates topics; \`rivulet send\` or an app that declares it does)`,
      { cause: error },
    );
  }
}
