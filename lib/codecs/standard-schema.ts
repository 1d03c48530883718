import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ValidationError } from '../core/errors.js';

/**
 * Runs a Standard Schema validator (zod, valibot, arktype…) and returns its output, or throws a
 * {@link ValidationError}. Stays synchronous for synchronous schemas.
 *
 * @example
 * ```ts
 * const order = validate(Order, JSON.parse(text));
 * ```
 */
export function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): StandardSchemaV1.InferOutput<S> | Promise<StandardSchemaV1.InferOutput<S>> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) return result.then(unwrap<S>);
  return unwrap<S>(result);
}

function unwrap<S extends StandardSchemaV1>(
  result: StandardSchemaV1.Result<StandardSchemaV1.InferOutput<S>>,
): StandardSchemaV1.InferOutput<S> {
  if (result.issues) throw new ValidationError(result.issues);
  return result.value;
}
