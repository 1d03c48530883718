/**
 * Turns values into bytes and back. A topic has one codec for keys and one for values; a decode failure
 * becomes a `DecodeError` naming the record, handled by the agent's error policy.
 *
 * @example
 * ```ts
 * const upper: Codec<string> = {
 *   name: 'upper',
 *   encode: (value) => Buffer.from(value.toUpperCase()),
 *   decode: (bytes) => bytes.toString('utf8'),
 * };
 * ```
 */
export interface Codec<T> {
  /** Shown in errors and logs. */
  readonly name: string;
  encode(value: T): Buffer;
  /** Throws (or rejects) when the bytes are not a valid `T`. Returns a Promise only for async schemas. */
  decode(bytes: Buffer): T | Promise<T>;
}

/**
 * The value type a codec produces.
 *
 * @example
 * ```ts
 * const orderCodec = json(z.object({ user: z.string(), quantity: z.number() }));
 * type Order = CodecType<typeof orderCodec>; // { user: string; quantity: number }
 * ```
 */
export type CodecType<C> = C extends Codec<infer T> ? T : never;
