import { expect } from 'chai';
import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { murmur2, partitionForKey } from '../../../lib/transports/partitioner.js';

const partitionMetadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));

describe('partitioner', () => {
  // Vectors of org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  const vectors: [string, Uint8Array, number][] = [
    ['21', Buffer.from('21'), -973932308],
    ['foobar', Buffer.from('foobar'), -790332482],
    ['a-little-bit-long-string', Buffer.from('a-little-bit-long-string'), -985981536],
    ['a-little-bit-longer-string', Buffer.from('a-little-bit-longer-string'), -1486304829],
    [
      'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8',
      Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'),
      -58897971,
    ],
    ['[97, 98, 99]', Uint8Array.from([97, 98, 99]), 479470107],
  ];
  for (const [name, bytes, expected] of vectors) {
    it(`murmur2(${name}) is ${expected}, as in Kafka's Java client`, () => {
      expect(murmur2(bytes)).to.equal(expected);
    });
  }

  it("partitionForKey agrees with kafkajs's DefaultPartitioner for any key and partition count", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 500 }), (key, count) => {
        const buffer = Buffer.from(key);
        const expected = partitioner({
          topic: 't',
          partitionMetadata: partitionMetadata(count),
          message: { key: buffer, value: null },
        });
        expect(partitionForKey(buffer, count)).to.equal(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees for string keys too (UTF-8 bytes)', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.integer({ min: 1, max: 64 }),
        (key, count) => {
          const expected = partitioner({
            topic: 't',
            partitionMetadata: partitionMetadata(count),
            message: { key, value: null },
          });
          expect(partitionForKey(Buffer.from(key, 'utf8'), count)).to.equal(expected);
        },
      ),
    );
  });
});
