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
