import { ConfigurationError, RivuletError } from '../core/errors.js';

/**
 * A table was read (or updated) for a key whose partition this worker does not own: another worker of
 * the agent's group holds it. `partition` names the partition that owns the key (undefined before the
 * table knows its partition count, i.e. before its agent was first assigned partitions).
 *
 * @example
 * ```ts
 * try {
 *   counts.get('ada');
 * } catch (error) {
 *   if (error instanceof PartitionNotOwnedError) console.log(`ask the worker owning partition ${error.partition}`);
 * }
 * ```
 */
export class PartitionNotOwnedError extends RivuletError {
  constructor(
    readonly table: string,
    readonly partition: number | undefined,
  ) {
    super(
      partition === undefined
        ? `Table ${table} owns no partition yet (its agent has not been assigned any)`
        : `Table ${table}: the key belongs to partition ${partition}, which this worker does not own`,
    );
  }
}

/**
 * A table was read for a key of a partition this worker owns but is still restoring from the changelog.
 * Retry once `table.stats().state` is `'ready'`.
 *
 * @example
 * ```ts
 * try { counts.get('ada'); } catch (error) { if (error instanceof PartitionRecoveringError) await later(); }
 * ```
 */
export class PartitionRecoveringError extends RivuletError {
  constructor(
    readonly table: string,
    readonly partition: number,
  ) {
    super(`Table ${table}: partition ${partition} is still being restored from its changelog`);
  }
}

/**
 * The table's changelog topic exists with another partition count than the topic of the agent updating
 * the table. A table is co-partitioned with its source: the change made for a record of partition `p`
 * goes to changelog partition `p`. Delete the changelog (its state is lost) or repartition the source.
 *
 * @example
 * ```ts
 * // orders has 6 partitions, feed-counts-changelog 3: the agent fails with
 * // ChangelogPartitionsMismatchError: Table counts: changelog feed-counts-changelog has 3 partitions, its source orders has 6
 * ```
 */
export class ChangelogPartitionsMismatchError extends ConfigurationError {
  constructor(
    readonly table: string,
    readonly changelog: string,
    readonly changelogPartitions: number,
    readonly source: string,
    readonly sourcePartitions: number,
  ) {
    super(
      `Table ${table}: changelog ${changelog} has ${changelogPartitions} partitions, its source ${source} has ${sourcePartitions}; they must be co-partitioned`,
    );
  }
}

/**
 * A message's table key hashes to another partition than the one the message came from: the change
 * cannot go to the owner of the key. Re-key the stream through a repartition topic first (so the topic's
 * record key is the table key), or use the record key as the table key.
 *
 * @example
 * ```ts
 * // orders keyed by user, table keyed by symbol: every message whose symbol hashes elsewhere fails
 * order$.pipe(updateTable(perSymbol, (n) => n + 1, { key: (m) => m.value.symbol })); // RepartitionRequiredError
 * ```
 */
export class RepartitionRequiredError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly table: string,
    readonly messagePartition: number,
    readonly keyPartition: number,
  ) {
    super(
      `Table ${table}: the key of a message of partition ${messagePartition} belongs to partition ${keyPartition}; repartition first (re-key the stream so its record key is the table key)`,
    );
  }
}

/**
 * A message reached a table update in a shape the table cannot apply exactly once: a message below
 * the offset the table knows was committed (the group's offsets were moved back, or messages were
 * reordered across a commit), the same record twice in one attempt (fan-out before the table), or an
 * aggregate of several records (`combineMessages`, a batch) instead of one record's message.
 *
 * @example
 * ```ts
 * order$.pipe(mergeMapValue((o) => [o, o]), updateTable(counts, (n) => n + 1)); // the second copy fails
 * ```
 */
export class TableUpdateOrderError extends RivuletError {
  override readonly retriable = false;

  constructor(
    readonly table: string,
    reason: string,
  ) {
    super(`Table ${table}: ${reason}`);
  }
}

/**
 * One table is updated by two agents (or from two topics). A table's partitions follow one agent's
 * assignment; declare one table per agent.
 *
 * @example
 * ```ts
 * app.agent('a', orders, (o$) => o$.pipe(updateTable(counts, inc)));
 * app.agent('b', refunds, (r$) => r$.pipe(updateTable(counts, dec))); // fails: TableBindingError
 * ```
 */
export class TableBindingError extends ConfigurationError {
  constructor(
    readonly table: string,
    bound: string,
    other: string,
  ) {
    super(`Table ${table} is updated by agent ${bound}; agent ${other} cannot update it too`);
  }
}

/**
 * A message reached a table update (`updateTable`, `aggregateWindows`) but belongs to no agent: it was
 * built by hand (`createMessage` inside a pipeline), or is a final window result, or was pushed from
 * outside an agent and `testPipeline`. A table follows the partitions of the agent whose records update
 * it, and learns that agent from each message's lineage; a message of no agent could only update a
 * local table, whose changes would never reach the changelog. Feed the table an agent's messages (or
 * run the pipeline under `testPipeline`, where tables are local).
 *
 * @example
 * ```ts
 * of(createMessage({ topic: 'orders', value: 1 })).pipe(updateTable(counts, (n) => n + 1)).subscribe({
 *   error: (error) => console.log(error instanceof TableNotBoundError), // true
 * });
 * ```
 */
export class TableNotBoundError extends ConfigurationError {
  constructor(
    readonly table: string,
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
  ) {
    super(
      `Table ${table}: the message ${topic}[${partition}]@${offset} belongs to no agent (built by hand, or a final window result); a table is updated by an agent's messages, or under testPipeline`,
    );
  }
}
