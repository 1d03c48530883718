import { expect } from 'chai';
import fc from 'fast-check';
import { type Message, createMessage } from '../../../lib/core/message.js';
import { REPARTITION_HEADERS } from '../../../lib/core/repartition-headers.js';
import { type HopOrigin, OriginOffsets, hopOrigin } from '../../../lib/tables/origin-offsets.js';

const hop = (offset: number, committed = 0, id = 'orders/0'): HopOrigin => ({ id, offset, committed });

const copy = (topic: string, headers: Record<string, string>): Message<string, string> =>
  createMessage({ topic, partition: 0, offset: 7, key: 'k', value: 'v', headers });

describe('OriginOffsets', () => {
  it('holds the origin offsets applied per origin partition, and survives encode/decode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ partition: fc.nat({ max: 2 }), offset: fc.nat({ max: 40 }) }), {
          maxLength: 60,
        }),
        (added) => {
          const origins = new OriginOffsets();
          for (const { partition, offset } of added) origins.add(hop(offset, 0, `orders/${partition}`));
          const decoded = OriginOffsets.decode(origins.encodeWithout([]))!;
          for (let partition = 0; partition <= 2; partition++)
            for (let offset = 0; offset <= 41; offset++) {
              const expected = added.some((a) => a.partition === partition && a.offset === offset);
              const asked = hop(offset, 0, `orders/${partition}`);
              expect(origins.has(asked), `${partition}/${offset}`).to.equal(expected);
              expect(decoded.has(asked), `decoded ${partition}/${offset}`).to.equal(expected);
            }
        },
      ),
    );
  });

  it('moves an origin floor to the committed offset a copy carried only once its own offset is committed', () => {
    const origins = new OriginOffsets();
    origins.add(hop(3));
    origins.add(hop(12));
    origins.note(hop(12, 10), 50); // the copy at offset 50 says: origin offsets below 10 are final
    origins.prune(50); // 50 itself is not committed yet: a first copy of 5 may still be retried
    expect(origins.has(hop(5))).to.equal(false);
    origins.prune(51);
    expect(origins.has(hop(5)), 'below the floor: a copy of it settled before').to.equal(true);
    expect(origins.has(hop(11))).to.equal(false);
    expect(origins.has(hop(12))).to.equal(true);
    expect(origins.encodeWithout([])).to.equal('orders/0=a;2'); // floor 10; 12 (a gap of 2 after the floor)
  });

  it('leaves out the origins of later changes from an encoding as of an earlier one', () => {
    const origins = new OriginOffsets();
    for (const offset of [1, 2, 3]) origins.add(hop(offset));
    origins.add(hop(4, 0, 'orders/1'));
    expect(origins.encodeWithout([hop(3), hop(4, 0, 'orders/1')])).to.equal('orders/0=0;1.2 orders/1=0;');
    expect(origins.has(hop(3)), 'the set itself is unchanged').to.equal(true);
  });

  it('refuses text that is not an encoding', () => {
    expect(OriginOffsets.decode('orders/0')).to.equal(undefined);
    expect(OriginOffsets.decode('orders/0=x')).to.equal(undefined);
    expect(OriginOffsets.decode('orders/0=0;1.0')).to.equal(undefined);
    expect(OriginOffsets.decode('')!.size).to.equal(0);
  });
});

describe('hopOrigin', () => {
  const headers = {
    [REPARTITION_HEADERS.topic]: 'orders',
    [REPARTITION_HEADERS.partition]: '2',
    [REPARTITION_HEADERS.offset]: '41',
    [REPARTITION_HEADERS.committed]: '40',
    [REPARTITION_HEADERS.via]: 'shop-by-symbol-repartition',
  };

  it('reads the origin of a copy from its headers', () => {
    expect(hopOrigin(copy('shop-by-symbol-repartition', headers))).to.deep.equal({
      id: 'orders/2',
      offset: 41,
      committed: 40,
    });
  });

  it('ignores a record that is not a copy, or a copy forwarded to another topic', () => {
    expect(hopOrigin(copy('orders', {}))).to.equal(undefined);
    expect(hopOrigin(copy('enriched', headers))).to.equal(undefined);
    expect(
      hopOrigin(copy('shop-by-symbol-repartition', { ...headers, [REPARTITION_HEADERS.offset]: 'x' })),
    ).to.equal(undefined);
  });
});
