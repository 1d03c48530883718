import type { Lineage } from '../core/lineage.js';
import { LINEAGE, type Message } from '../core/message.js';
import type { AppliedOffsets } from './applied-offsets.js';
import { hopOrigin } from './origin-offsets.js';
import type { TableBinding } from './table-binding.js';
import type { EncodedKey, TableCodecs } from './table-codecs.js';
import type { TableLocal } from './table-local.js';
import type { TablePartition } from './table-partition.js';
import { type ApplyCallback, type ApplyOutcome, DROPPED, HeldWrite, RecordWrite } from './table-write.js';
import { PartitionRecoveringError, RepartitionRequiredError, TableUpdateOrderError } from './table-errors.js';

/** What the update path of a table reads and writes through. @internal */
export interface ApplyContext<K, V> {
  readonly table: string;
  readonly codecs: TableCodecs<K, V>;
  readonly decoder: (bytes: Buffer) => V;
  readonly default: (() => V) | undefined;
  readonly binding: TableBinding<K, V>;
  readonly local: TableLocal<V>;
}

/** How `Table.apply` treats one change besides making it. @internal */
export interface ApplyOptions<V = unknown> {
  /**
   * Called once the change is made (not for a redelivered record, nor when `update` threw): headers
   * for its changelog record.
   */
  readonly staged?: () => Readonly<Record<string, string>>;
  /**
   * Called once the change is made, as `staged`, with the key as a map key (latin1 of its bytes): a
   * number kept with the change (a window's watermark after it), given to `durable`, and turned into
   * headers of its changelog record by the table's `noteHeaders` only if that record is produced (the
   * record cache produces few of its changes).
   */
  readonly note?: (keyId: string) => number;
  /**
   * The record cache: a change made is reported done at once, once queued for the changelog; the agent
   * keeps only the record's offset from being committed until the change is durable, not the message,
   * and the change may wait for the next flush. A redelivered record still waits for its change to be
   * durable. Without an agent (under test) the change is reported once durable, as without `early`.
   */
  readonly early?: boolean;
  /**
   * Told once a change made is durable (`true`) or never will be here (`false`: the partition moved
   * away, the agent stopped), with the number `note` kept with it (if any), so that one function
   * can serve every change; not called when no change was made (redelivered, failed, dropped).
   */
  readonly durable?: (durable: boolean, note: number | undefined) => void;
  /**
   * Whether a new value holds only JSON primitives in arrays and objects made for this change, never
   * changed after, so that with `early` it may be encoded once produced (see
   * `TableCodecs.encodesLater`; numbers, strings, booleans and null need no say).
   */
  readonly plain?: (value: V) => boolean;
}

const failed = (error: unknown): ApplyOutcome<never, never> => ({ kind: 'failed', error });

/**
 * Applies `update` for one message: the body of `Table.apply` (see there), from the checks that keep
 * a record out (an aggregate, a partition not owned or not restored, a key of another partition, an
 * offset below the committed one) through a redelivered record or a second copy of a repartitioned
 * one (reported once its change is durable) to the change staged and written: held for the record
 * cache (`early`), or a record write that reports once durable; `options.durable` is told either way.
 * @internal
 */
export function applyUpdate<K, V, C extends V | undefined>(
  context: ApplyContext<K, V>,
  message: Message<unknown, unknown>,
  key: K,
  update: (current: C, message: Message<unknown, unknown>) => V,
  then: ApplyCallback<K, V>,
  options: ApplyOptions<V> | undefined,
): void {
  const { table, codecs, binding } = context;
  const lineage = message[LINEAGE];
  if (Array.isArray(lineage))
    return then(
      failed(new TableUpdateOrderError(table, 'it takes one record per message, not an aggregate')),
      message,
    );
  let encodedKey: EncodedKey;
  try {
    encodedKey = codecs.encodeKey(key);
  } catch (error) {
    return then(failed(error), message);
  }
  const sourcePartition = message.partition;
  const changelog = binding.changelog;
  let part: TablePartition<V> | undefined;
  let applied: AppliedOffsets;
  if (changelog) {
    part = changelog.partitions.get(sourcePartition);
    if (!part) return then(DROPPED, message); // revoked: the record is the new owner's
    if (part.state !== 'ready')
      return then(failed(new PartitionRecoveringError(table, sourcePartition)), message); // retried
    const keyPartition = binding.partitionOfKey(encodedKey);
    if (keyPartition !== sourcePartition)
      return then(failed(new RepartitionRequiredError(table, sourcePartition, keyPartition!)), message);
    applied = part.applied;
  } else {
    part = context.local.part();
    applied = context.local.applied(sourcePartition);
  }
  const offset = message.offset;
  let current: C;
  try {
    current = (part.lookup(encodedKey.id, encodedKey.bytes, context.decoder) ?? context.default?.()) as C;
  } catch (error) {
    return then(failed(error), message);
  }
  if (applied.has(offset)) {
    if (lineage !== undefined && part.appliedBy(lineage as Lineage))
      return then(
        failed(
          new TableUpdateOrderError(
            table,
            `offset ${offset} of partition ${sourcePartition} reached the table twice in one attempt (fan-out before the table?)`,
          ),
        ),
        message,
      );
    // Delivered again (after a crash or a retry downstream): its change is in the table already.
    part.onDurable(offset, (durable) =>
      then(durable ? { kind: 'done', key, value: current as V, replayed: true } : DROPPED, message),
    );
    return;
  }
  // A copy made by a repartition is known by its origin: a second copy of a record has another offset.
  const hop = hopOrigin(message);
  if (hop !== undefined) {
    const origins = part.originOffsets();
    origins.note(hop, offset);
    if (origins.has(hop)) {
      part.onDurableHop(hop, (durable) =>
        then(durable ? { kind: 'done', key, value: current as V, replayed: true } : DROPPED, message),
      );
      return;
    }
  }
  if (offset < applied.floor)
    return then(
      failed(
        new TableUpdateOrderError(
          table,
          `offset ${offset} of partition ${sourcePartition} is below the committed offset ${applied.floor}; the table cannot tell whether it was applied`,
        ),
      ),
      message,
    );
  let value: V;
  let encoded: Buffer | undefined;
  let extra: Readonly<Record<string, string>> | undefined;
  let note: number | undefined;
  try {
    value = update(current, message);
    // a value that cannot fail to encode waits until it is produced (the record cache produces few)
    if (!codecs.encodesLater(value, options?.plain)) encoded = codecs.valueCodec.encode(value);
    extra = options?.staged?.();
    if (options?.note) note = options.note(encodedKey.id);
  } catch (error) {
    return then(failed(error), message);
  }
  const scope = binding.scope;
  const writer = binding.changelog; // read again: `update` ran meanwhile
  const durable = options?.durable;
  if (options?.early === true && writer && scope?.holdCommit && lineage !== undefined) {
    const attempt = lineage as Lineage;
    const hold = scope.holdCommit(attempt);
    if (hold === undefined) return then(DROPPED, message); // revoked meanwhile: the new owner's
    applied.add(offset);
    if (hop !== undefined) part.originOffsets().add(hop);
    const held = new HeldWrite<V>(
      encodedKey.bytes,
      encoded,
      value,
      codecs.valueCodec,
      encodedKey.id,
      offset,
      scope,
      hold,
    );
    held.hop = hop;
    held.note = note;
    held.onDurable = durable;
    part.stage(held, value);
    part.appliedNow(attempt);
    writer.write(part, held, extra);
    return then({ kind: 'done', key, value, replayed: false }, message);
  }
  applied.add(offset);
  if (hop !== undefined) part.originOffsets().add(hop);
  const write = new RecordWrite<K, V>(
    encodedKey.bytes,
    encoded ?? codecs.valueCodec.encode(value), // cannot fail: `encodesLater` said so (no record cache here)
    encodedKey.id,
    offset,
    lineage as Lineage | undefined,
    message,
    key,
    value,
    then,
  );
  write.hop = hop;
  write.note = note;
  write.onDurable = durable;
  part.stage(write, value);
  if (writer) writer.write(part, write, extra);
  else part.ackedLocally(write);
}

/** See `Table.wasApplied`. @internal */
export function wasApplied<K, V>(context: ApplyContext<K, V>, message: Message<unknown, unknown>): boolean {
  const changelog = context.binding.changelog;
  const applied = changelog
    ? changelog.partitions.get(message.partition)?.applied
    : context.local.appliedOf(message.partition);
  if (applied?.has(message.offset)) return true;
  const origins = changelog
    ? changelog.partitions.get(message.partition)?.origins
    : context.local.existing?.origins;
  if (origins === undefined) return false;
  const hop = hopOrigin(message);
  return hop !== undefined && origins.has(hop);
}
