import type { Codec } from './codec.js';

const STRING_CODEC: Codec<string> = {
  name: 'string',
  encode: (value) => Buffer.from(value, 'utf8'),
  decode: (bytes) => bytes.toString('utf8'),
};

/**
 * UTF-8 text. The default codec for keys.
 *
 * @example
 * ```ts
 * const lines = app.topic('lines', { value: string() }); // Topic<string>
 * ```
 */
export function string(): Codec<string> {
  return STRING_CODEC;
}
