/**
 * The message type of a sink's input: the element type of a batch, or the message itself. Lets a sink
 * operator infer its value type from the pipeline it is used in.
 *
 * @example
 * ```ts
 * type M = SinkMessage<Message<Order, string>[]>; // Message<Order, string>
 * ```
 */
export type SinkMessage<I> = I extends readonly (infer M)[] ? M : I;

/** The messages of a sink's input, as an array. @internal */
export function sinkMessages<I>(input: I): readonly SinkMessage<I>[] {
  return (Array.isArray(input) ? input : [input]) as readonly SinkMessage<I>[];
}
