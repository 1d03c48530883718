import { Message } from '../core/message.js';
import type { Lineage } from '../core/lineage.js';
import type { Logger } from '../core/logger.js';
import type { Transport } from '../transports/transport.js';
import type { PendingResult, WindowPartition } from './window-partition.js';
import { OwnedResults, type ResultBinding } from './owned-results.js';
import { WindowResultFailedError } from './window-errors.js';
import type { WindowResult } from './window-types.js';

/** What an `aggregateWindows` subscription gives its table while it runs. @internal */
export type WindowBinding<K, A> = ResultBinding<Message<WindowResult<K, A>, K>>;

/** What {@link WindowResults} needs from its table. @internal */
export interface WindowResultsHost<K, A> {
  readonly table: string;
  readonly logger: Logger;
  transport(): Promise<Transport>;
  binding(): WindowBinding<K, A> | undefined;
  part(partition: number): WindowPartition<K, A> | undefined;
  /** The result is settled (or dead-lettered): delete its window. */
  remove(result: PendingResult<K, A>): void;
  keyBytes(key: K): Buffer;
}

/** Headers a dead-lettered final result carries besides the usual ones. */
export const WINDOW_DEAD_LETTER_HEADERS = {
  table: 'rivulet-window-table',
  start: 'rivulet-window-start',
  end: 'rivulet-window-end',
} as const;

/**
 * The owner of final results' lineages ({@link OwnedResults}, for windows): settled, the window is
 * deleted; dead-lettered as JSON with the window in headers; under `onFailure: 'stop'` the agent fails
 * with a {@link WindowResultFailedError} and the window stays, so the next run emits its result again.
 * @internal
 */
export class WindowResults<K, A> extends OwnedResults<PendingResult<K, A>, Message<WindowResult<K, A>, K>> {
  constructor(host: WindowResultsHost<K, A>) {
    super({
      table: host.table,
      noun: 'final window result',
      logger: host.logger,
      transport: () => host.transport(),
      binding: () => host.binding(),
      owns: (result) => host.part(result.partition)?.results.get(result.id) === result,
      remove: (result) => host.remove(result),
      message: (topic, result, lineage) => resultMessage(topic, result, lineage),
      where: (result) => ({ partition: result.partition, start: result.start, end: result.end }),
      deadLetter: (result) => ({
        key: host.keyBytes(result.key),
        value: Buffer.from(
          JSON.stringify({ key: result.key, start: result.start, end: result.end, value: result.value }),
        ),
        headers: {
          [WINDOW_DEAD_LETTER_HEADERS.table]: host.table,
          [WINDOW_DEAD_LETTER_HEADERS.start]: String(result.start),
          [WINDOW_DEAD_LETTER_HEADERS.end]: String(result.end),
        },
      }),
      failure: (result, cause) => new WindowResultFailedError(host.table, result, cause),
    });
  }
}

/** Builds a final result's message, holding a lineage of its own. @internal */
export function resultMessage<K, A>(
  topic: string,
  result: PendingResult<K, A>,
  lineage: Lineage,
): Message<WindowResult<K, A>, K> {
  const value: WindowResult<K, A> = {
    key: result.key,
    start: result.start,
    end: result.end,
    value: result.value,
    final: true,
  };
  return new Message(topic, result.partition, -1, result.key, value, {}, result.end, lineage);
}
