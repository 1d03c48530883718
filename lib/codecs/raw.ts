import type { Codec } from './codec.js';

const RAW_CODEC: Codec<Buffer> = {
  name: 'raw',
  encode: (value) => value,
  decode: (bytes) => bytes,
};

/**
 * The record's bytes as they are, as a `Buffer`.
 *
 * @example
 * ```ts
 * const images = app.topic('thumbnails', { value: raw() }); // Topic<Buffer>
 * ```
 */
export function raw(): Codec<Buffer> {
  return RAW_CODEC;
}
