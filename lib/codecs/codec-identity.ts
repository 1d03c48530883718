import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Codec } from './codec.js';

/** What makes two `json()` codecs the same: the schema object and the options. */
interface JsonIdentity {
  readonly schema: StandardSchemaV1 | undefined;
  readonly isodates: boolean;
}

const jsonCodecs = new WeakMap<Codec<unknown>, JsonIdentity>();

/**
 * Records what a `json()` codec was made from, so that two calls with the same schema and options count
 * as the same codec. @internal
 */
export function registerJsonCodec(codec: Codec<unknown>, identity: JsonIdentity): void {
  jsonCodecs.set(codec, identity);
}

/**
 * Whether `codec` is a `json()` codec: its encoding is `JSON.stringify`, which cannot fail on a
 * {@link isJsonPrimitive} value.
 * @internal
 */
export function isJsonCodec(codec: Codec<unknown>): boolean {
  return jsonCodecs.has(codec);
}

/**
 * Whether `value` is a number, a string, a boolean or null: a value `json()` encodes without fail and
 * that nothing can change later.
 * @internal
 */
export function isJsonPrimitive(value: unknown): boolean {
  const type = typeof value;
  return type === 'number' || type === 'string' || type === 'boolean' || value === null;
}

/**
 * Whether two codecs encode and decode alike: the same object, or two `json()` codecs made from the
 * same schema object with the same options (`json()` and `json()` are alike; `json(A)` and `json(B)` are not).
 *
 * @example
 * ```ts
 * sameCodec(json(Order), json(Order)); // true
 * sameCodec(json(Order), raw()); // false
 * ```
 * @internal
 */
export function sameCodec(a: Codec<unknown>, b: Codec<unknown>): boolean {
  if (a === b) return true;
  const [left, right] = [jsonCodecs.get(a), jsonCodecs.get(b)];
  return (
    left !== undefined &&
    right !== undefined &&
    left.schema === right.schema &&
    left.isodates === right.isodates
  );
}

/**
 * A codec as an error message names it: `raw()`, `json()`, `json(zod schema)`, `json(zod schema, { isodates: true })`.
 *
 * @example
 * ```ts
 * describeCodec(json(Order)); // 'json(zod schema)'
 * ```
 * @internal
 */
export function describeCodec(codec: Codec<unknown>): string {
  const identity = jsonCodecs.get(codec);
  if (!identity) return `${codec.name}()`;
  const schema = identity.schema ? `${identity.schema['~standard'].vendor} schema` : '';
  const options = identity.isodates ? `${schema ? ', ' : 'undefined, '}{ isodates: true }` : '';
  return `json(${schema}${options})`;
}
