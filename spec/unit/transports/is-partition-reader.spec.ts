import { expect } from 'chai';
import { MemoryBroker, MemoryTransport, isPartitionReader, type Transport } from '../../../lib/index.js';

describe('isPartitionReader (a value export of the package, not only a type)', () => {
  it('is a function that tells a transport reading partitions from one that does not', () => {
    expect(isPartitionReader).to.be.a('function');
    expect(isPartitionReader(new MemoryTransport(new MemoryBroker()))).to.equal(true);
    const plain = { produce: async () => [] } as unknown as Transport;
    expect(isPartitionReader(plain)).to.equal(false);
  });
});
