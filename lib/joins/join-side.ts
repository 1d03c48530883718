import type { Codec } from '../codecs/codec.js';
import type { Side } from './join-state.js';

/**
 * A record of a stream–stream join's internal topic: a copy of a left or a right record, with its
 * value. What the agent fed by `join.topic` receives; `windowJoin` takes it.
 *
 * @example
 * ```ts
 * const sideOf = (m: Message<JoinSide<Order, Payment>, string>) => m.value.side; // 'left' | 'right'
 * ```
 */
export type JoinSide<L, R> =
  { readonly side: 'left'; readonly value: L } | { readonly side: 'right'; readonly value: R };

const TAG: Record<Side, number> = { left: 0x4c, right: 0x52 }; // 'L', 'R'

/**
 * The codec of a join's internal topic: one byte for the side ('L' or 'R'), then the value encoded by
 * that side's own codec.
 * @internal
 */
export function sideCodec<L, R>(left: Codec<L>, right: Codec<R>): Codec<JoinSide<L, R>> {
  return {
    name: `join(${left.name}, ${right.name})`,
    encode: (record) =>
      Buffer.concat([
        Buffer.of(TAG[record.side]),
        record.side === 'left' ? left.encode(record.value) : right.encode(record.value),
      ]),
    decode: (bytes): JoinSide<L, R> | Promise<JoinSide<L, R>> => {
      const body = bytes.subarray(1);
      if (bytes[0] === TAG.left)
        return settle(left.decode(body), (value): JoinSide<L, R> => ({ side: 'left', value }));
      if (bytes[0] === TAG.right)
        return settle(right.decode(body), (value): JoinSide<L, R> => ({ side: 'right', value }));
      throw new Error(`not a join record: its first byte is ${String(bytes[0])}, not 'L' or 'R'`);
    },
  };
}

function settle<V, U>(value: V | Promise<V>, wrap: (value: V) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(wrap) : wrap(value);
}
