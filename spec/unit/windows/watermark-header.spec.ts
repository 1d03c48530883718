import { expect } from 'chai';
import type { Table } from '../../../lib/tables/table.js';
import { WATERMARK_HEADER, rewriteWatermark } from '../../../lib/windows/watermark-header.js';
import { WindowPartition } from '../../../lib/windows/window-partition.js';

interface Put {
  readonly partition: number;
  readonly key: string;
  readonly value: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/** A table whose `get` answers from `values` (or throws `failure`), noting each `put` and acknowledging it. */
function fakeTable(values: Record<string, number>, failure?: Error) {
  const puts: Put[] = [];
  const table = {
    get: (key: string): number | undefined => {
      if (failure) throw failure;
      return values[key];
    },
    put: (
      partition: number,
      key: string,
      value: number | undefined,
      headers: Readonly<Record<string, string>>,
      then: (durable: boolean) => void,
    ): void => {
      puts.push({ partition, key, value, headers });
      then(true);
    },
  };
  return { table: table as unknown as Table<string, number>, puts };
}

describe('rewriteWatermark: an idle partition’s watermark into its changelog', () => {
  it('re-writes the state of the key due first, with the watermark besides the headers given', () => {
    const part = new WindowPartition<string, number>(2, 0, 0);
    part.schedule(30, 'late', 'late');
    part.schedule(10, 'first', 'first');
    const { table, puts } = fakeTable({ first: 4, late: 9 });
    const outcomes: boolean[] = [];
    rewriteWatermark(table, part, 25, (durable) => outcomes.push(durable), { 'rivulet-times': 'x' });
    expect(puts).to.deep.equal([
      { partition: 2, key: 'first', value: 4, headers: { 'rivulet-times': 'x', [WATERMARK_HEADER]: '25' } },
    ]);
    expect(outcomes).to.deep.equal([true]);
  });

  it('the partition moving away (its state unreadable): nothing is written, and the watermark is not durable', () => {
    const part = new WindowPartition<string, number>(0, 0, 0);
    part.schedule(10, 'first', 'first');
    const { table, puts } = fakeTable({ first: 4 }, new Error('not owned'));
    const outcomes: boolean[] = [];
    rewriteWatermark(table, part, 25, (durable) => outcomes.push(durable));
    expect(puts).to.deep.equal([]);
    expect(outcomes).to.deep.equal([false]);
  });
});
