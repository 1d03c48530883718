import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Codec } from './codec.js';
import { registerJsonCodec } from './codec-identity.js';
import { EncodeError } from './encode-error.js';
import { validate } from './standard-schema.js';

/**
 * Options of {@link json}.
 *
 * @example
 * ```ts
 * const orders = app.topic('orders', { value: json(Order, { isodates: true }) }); // executedAt: Date
 * ```
 */
export interface JsonOptions {
  /**
   * Revive ISO-8601 date-time strings (`2024-05-01T12:00:00Z`, with or without fraction and offset) as
   * `Date` objects before validation, as Faust's `isodates` does. Schemas that coerce dates themselves
   * (zod's `z.coerce.date()`) do not need it.
   */
  readonly isodates?: boolean;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

function reviveDates(_key: string, value: unknown): unknown {
  return typeof value === 'string' && ISO_DATE_TIME.test(value) ? new Date(value) : value;
}

/**
 * Bytes are not JSON: `JSON.stringify` would silently write a Buffer as `{"type":"Buffer","data":[…]}`
 * and a typed array as `{"0":…}`, which no consumer reads back as bytes. Only the value itself is
 * checked (binary nested inside an object is the caller's choice, and checking it would cost a walk).
 */
function refuseBinary(value: unknown): unknown {
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    throw new EncodeError(
      'json',
      `a ${Buffer.isBuffer(value) ? 'Buffer' : 'binary array'} is not JSON; declare the topic with raw() to send bytes as they are, or send a JSON value`,
    );
  }
  return value;
}

/**
 * JSON values, validated by any Standard Schema validator (zod, valibot, arktype…) so that the topic's
 * message type comes from the schema. Without a schema, values are `unknown` (or the type you name).
 * Encoding a `Buffer` (or another binary array) throws an {@link EncodeError}: use `raw()` for bytes.
 *
 * @example
 * ```ts
 * const Order = z.object({ user: z.string(), quantity: z.number(), executedAt: z.coerce.date() });
 * const orders = app.topic('orders', { value: json(Order) }); // Topic<z.infer<typeof Order>>
 * ```
 */
export function json<S extends StandardSchemaV1>(
  schema: S,
  options?: JsonOptions,
): Codec<StandardSchemaV1.InferOutput<S>>;
export function json<T = unknown>(schema?: undefined, options?: JsonOptions): Codec<T>;
export function json(schema?: StandardSchemaV1, options: JsonOptions = {}): Codec<unknown> {
  const reviver = options.isodates ? reviveDates : undefined;
  const codec: Codec<unknown> = {
    name: 'json',
    encode: (value) => Buffer.from(JSON.stringify(refuseBinary(value))),
    decode: schema
      ? (bytes) => validate(schema, JSON.parse(bytes.toString('utf8'), reviver))
      : (bytes) => JSON.parse(bytes.toString('utf8'), reviver) as unknown,
  };
  registerJsonCodec(codec, { schema, isodates: options.isodates ?? false });
  return codec;
}
