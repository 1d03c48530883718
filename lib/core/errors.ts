/**
 * Base class of every error rivulet raises. `retriable` tells the agent's error policy whether trying the
 * same record again may help.
 *
 * @example
 * ```ts
 * if (error instanceof RivuletError && !error.retriable) console.error('permanent failure', error);
 * ```
 */
export class RivuletError extends Error {
  /** Whether retrying the same work may succeed. */
  readonly retriable: boolean = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Where a record sits: named in errors and dead-letter headers.
 *
 * @example
 * ```ts
 * const position: RecordPosition = { topic: 'orders', partition: 2, offset: 1041 };
 * throw new DecodeError(position, 'value', new SyntaxError('Unexpected token'));
 * ```
 */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * A record's bytes could not be decoded or did not pass the topic's schema. Never retried: the record
 * goes to the agent's terminal policy (dead-letter by default).
 *
 * The message says where and why, once: `Cannot decode the value of orders[2]@1041: <the codec's reason>`.
 * What the codec threw is kept as {@link DecodeError.reason}, not as `cause`: its text is already in the
 * message, and loggers that append causes (pino does) would print it a second time.
 *
 * @example
 * ```ts
 * if (error instanceof DecodeError) console.log(error.topic, error.partition, error.offset, error.issues);
 * ```
 */
export class DecodeError extends RivuletError {
  override readonly retriable = false;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Which part failed: the key or the value. */
  readonly part: 'key' | 'value';
  /** Schema issues, when a schema rejected the value. */
  readonly issues: readonly SchemaIssue[];
  /** What the codec threw (a `SyntaxError` from `JSON.parse`, a {@link ValidationError}…). */
  readonly reason: unknown;

  constructor(position: RecordPosition, part: 'key' | 'value', reason: unknown) {
    const text = reason instanceof Error ? reason.message || reason.name : String(reason);
    super(
      `Cannot decode the ${part} of ${position.topic}[${position.partition}]@${position.offset}: ${text}`,
    );
    this.topic = position.topic;
    this.partition = position.partition;
    this.offset = position.offset;
    this.part = part;
    this.issues = reason instanceof ValidationError ? reason.issues : [];
    this.reason = reason;
  }
}

/**
 * One problem a schema found, in Standard Schema's shape.
 *
 * @example
 * ```ts
 * const issue: SchemaIssue = { message: 'Expected number', path: ['items', 0, 'quantity'] };
 * new ValidationError([issue]).message; // 'items.0.quantity: Expected number'
 * ```
 */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/**
 * A value did not pass its Standard Schema validator.
 *
 * @example
 * ```ts
 * try { codec.decode(bytes); } catch (error) { if (error instanceof ValidationError) console.log(error.issues); }
 * ```
 */
export class ValidationError extends RivuletError {
  override readonly retriable = false;

  constructor(readonly issues: readonly SchemaIssue[]) {
    super(issues.map(formatIssue).join('; ') || 'invalid value');
  }
}

function formatIssue(issue: SchemaIssue): string {
  const path = (issue.path ?? [])
    .map((segment) => (typeof segment === 'object' ? segment.key : segment))
    .map(String)
    .join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * An agent stopped because a record exhausted its error policy with `onFailure: 'stop'`, or because its
 * pipeline itself errored. Offsets are not committed past the record that failed.
 *
 * @example
 * ```ts
 * app.run().catch((error) => { if (error instanceof AgentFailedError) process.exitCode = 1; });
 * ```
 */
export class AgentFailedError extends RivuletError {
  constructor(
    readonly agent: string,
    readonly position: RecordPosition | undefined,
    cause: unknown,
  ) {
    const where = position ? ` at ${position.topic}[${position.partition}]@${position.offset}` : '';
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Agent ${agent} failed${where}: ${reason}`, { cause });
  }
}

/**
 * `app.stop()` ran out of time (`shutdownTimeoutMs`) before every in-flight message settled. What settled
 * was committed; the rest will be delivered again. The app still stops; this error is what it logs.
 *
 * @example
 * ```ts
 * new ShutdownTimeoutError('confirm-orders', 3).message;
 * // 'Agent confirm-orders stopped with 3 message(s) unsettled; they will be delivered again'
 * ```
 */
export class ShutdownTimeoutError extends RivuletError {
  constructor(
    readonly agent: string,
    readonly unsettled: number,
  ) {
    super(`Agent ${agent} stopped with ${unsettled} message(s) unsettled; they will be delivered again`);
  }
}

/**
 * A broker URL or transport setting that rivulet cannot use.
 *
 * @example
 * ```ts
 * createApp({ id: 'x', broker: 'amqp://localhost' }); // throws ConfigurationError
 * ```
 */
export class ConfigurationError extends RivuletError {
  override readonly retriable = false;
}

/**
 * A commit was refused because the partition now belongs to another consumer of the group. Harmless:
 * the new owner starts from the last committed offset.
 *
 * @example
 * ```ts
 * consumer.commit(offsets).catch((error) => { if (!(error instanceof RebalanceInProgressError)) throw error; });
 * ```
 */
export class RebalanceInProgressError extends RivuletError {}

/**
 * Something other than a {@link Message} reached a rivulet operator, a sink or the end of an agent's
 * pipeline, e.g. after a plain `map((m) => m.value)`. The record being processed goes to the error policy
 * and the pipeline restarts; keep messages flowing with `mapValue`.
 *
 * @example
 * ```ts
 * order$.pipe(map((m) => m.value), mapValue(price)); // NotAMessageError: mapValue received a object, not a Message
 * ```
 */
export class NotAMessageError extends RivuletError {
  override readonly retriable = false;
  constructor(
    /** Where it arrived: an operator or sink name, or `the end of the pipeline`. */
    readonly where: string,
    value: unknown,
  ) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    super(
      `${where} received a ${kind}, not a Message: keep the message with mapValue (a plain map drops its lineage)`,
    );
  }
}

/**
 * One message object was used twice: passed on or settled after it was settled or replaced (moved), or
 * sent down two paths at once (a plain `share()`, `mergeMap((m) => [m, m])`). A message stands for one
 * reference to its record. To send each message to several branches, use `shareMessages()`; to derive
 * several messages from one, `mergeMapValue` or `forkMessage`: the record then settles when every branch
 * or copy has. A reuse fails the record (it goes to the error policy, the dead-letter topic by default);
 * once the record has settled, the agent logs it as an error. It is never ignored.
 *
 * @example
 * ```ts
 * message$.pipe(mergeMap((m) => [m, m]), toRedis(redis, zadd)); // MessageReusedError: sink redis received orders[0]@7 …
 * ```
 */
export class MessageReusedError extends RivuletError {
  override readonly retriable = false;
  constructor(
    /** Who received the message again: an operator or sink name, or `the end of the pipeline`. */
    readonly where: string,
    /** The record the message stands for, when it stands for one. */
    readonly record?: RecordPosition,
  ) {
    const which = record
      ? `the message of ${record.topic}[${record.partition}]@${record.offset}`
      : 'a message';
    super(
      `${where} received ${which} that was already settled, replaced or in use elsewhere: to send each message to several branches use shareMessages() (not share()); to derive several messages use mergeMapValue or forkMessage`,
    );
  }
}

/**
 * An agent's pipeline completed while its topic was still open (a `take(n)`, `first()`…): the agent
 * cannot go on, so it fails rather than sitting paused.
 *
 * @example
 * ```ts
 * app.agent('first-two', orders, (order$) => order$.pipe(take(2))); // fails with PipelineCompletedError
 * ```
 */
export class PipelineCompletedError extends RivuletError {
  constructor(readonly agent: string) {
    super(`the pipeline of agent ${agent} completed while its topic is still open`);
  }
}

/**
 * An agent's pipeline kept erroring: more restarts than its budget allows within the window.
 *
 * @example
 * ```ts
 * app.agent('prices', orders, pipeline, { restarts: { max: 10, withinMs: 60_000 } });
 * ```
 */
export class RestartBudgetExceededError extends RivuletError {
  constructor(
    readonly agent: string,
    readonly restarts: number,
    readonly withinMs: number,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `agent ${agent} restarted its pipeline ${restarts} times within ${withinMs} ms; last error: ${reason}`,
      {
        cause,
      },
    );
  }
}
