import type { Observable } from 'rxjs';
import type { Message } from '../core/message.js';
import type { OutgoingRecord, Topic } from '../topics/topic.js';
import { type SinkInput, type SinkOptions, sink } from './sink.js';

/**
 * Options of {@link toTopic}.
 *
 * @example
 * ```ts
 * order$.pipe(
 *   toTopic(audit, { record: (m) => ({ key: m.key, value: m.value, headers: { source: m.topic } }) }),
 * );
 * ```
 */
export interface ToTopicOptions<T, K> extends Partial<SinkOptions> {
  /** What to produce for a message (default: its key and value). */
  readonly record?: (message: Message<T, K | null>) => OutgoingRecord<T, K>;
}

/**
 * Produces each message (or batch) to a topic, encoded with that topic's codecs; the messages settle
 * once the broker has acknowledged them. Writes batch up by themselves while one is in flight.
 *
 * @example
 * ```ts
 * order$.pipe(mapValue(toReport), toTopic(reports));
 * ```
 */
export function toTopic<T, K>(
  topic: Topic<T, K>,
  options: ToTopicOptions<T, K> = {},
): <I extends SinkInput<T, K | null>>(source: Observable<I>) => Observable<I> {
  const record = options.record ?? ((message) => ({ key: message.key, value: message.value }));
  return sink<T, K | null>((batch) => topic.sendMany(batch.map(record)), {
    name: `topic:${topic.name}`,
    ...options,
  });
}
