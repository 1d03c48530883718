import { expect } from 'chai';
import { Lineage, type LineageOwner } from '../../../lib/core/lineage.js';
import type { Logger } from '../../../lib/core/logger.js';
import { silentLogger } from '../../../lib/index.js';
import { MemoryTableStore } from '../../../lib/tables/stores/memory-table-store.js';
import type { StoreChange } from '../../../lib/tables/stores/table-store.js';
import type { HopOrigin } from '../../../lib/tables/origin-offsets.js';
import { TablePartition } from '../../../lib/tables/table-partition.js';
import { TableWrite } from '../../../lib/tables/table-write.js';

/** One change of a test: records whether (and how often) it was reported durable. */
class Change extends TableWrite<string> {
  readonly outcomes: boolean[] = [];
  readonly value: Buffer;
  constructor(key: string, value: string, sourceOffset: number, lineage?: Lineage) {
    super(Buffer.from(key), key, sourceOffset, lineage);
    this.value = Buffer.from(value);
  }
  wanted(): boolean {
    return true;
  }
  protected settled(durable: boolean): void {
    this.outcomes.push(durable);
  }
}

/** A memory store that records what it is asked to apply (and can refuse it). */
class RecordingStore extends MemoryTableStore {
  readonly applied: { changes: string[]; end: number }[] = [];
  refuse = false;
  override apply(partition: number, changes: readonly StoreChange[], end: number): Promise<void> {
    this.applied.push({ changes: changes.map((c) => `${c.key.toString()}=${c.value?.toString()}`), end });
    if (this.refuse) return Promise.reject(new Error('disk full'));
    return super.apply(partition, changes, end);
  }
}

const owner: LineageOwner = { accepting: true, onSettled: () => undefined, onFailed: () => undefined };
const lineage = (): Lineage => new Lineage(owner, undefined);
/** Decodes a stored value so that a value read from the store is told from one still in memory. */
const fromStore = (bytes: Buffer): string => `stored ${bytes.toString()}`;

function partition(store = new RecordingStore(), logger: Logger = silentLogger) {
  const part = new TablePartition<string>(0, store, logger);
  part.state = 'ready';
  const stage = (key: string, value: string, offset: number, by?: Lineage): Change => {
    const change = new Change(key, value, offset, by);
    part.stage(change, value);
    return change;
  };
  /** A change made for a copy that a repartition hop made of an origin record. */
  const stageCopy = (key: string, offset: number, hop: HopOrigin): Change => {
    const change = new Change(key, '1', offset);
    change.hop = hop;
    part.stage(change, '1');
    return change;
  };
  const read = (key: string) => part.lookup(key, Buffer.from(key), fromStore);
  return { part, store, stage, stageCopy, read };
}

describe('TablePartition', () => {
  it('serves a key’s newest change from memory until its last change is in the store, then the store', async () => {
    const { part, stage, read } = partition();
    const a1 = stage('a', '1', 0);
    const a2 = stage('a', '2', 1);
    const b1 = stage('b', '1', 2);
    expect([read('a'), read('b'), read('c')]).to.deep.equal(['2', '1', undefined]);
    part.acked([a1], 1);
    await part.stored();
    expect(read('a'), 'a’s second change is still in flight').to.equal('2');
    part.acked([a2, b1], 3);
    await part.stored();
    expect([read('a'), read('b')]).to.deep.equal(['stored 2', 'stored 1']);
  });

  it('stores what the changelog holds of an acknowledged batch (its last change per key), with the changelog offset after it', async () => {
    const { part, store, stage, read } = partition();
    const writes = [stage('a', '1', 0), stage('b', '1', 1), stage('a', '2', 2), stage('c', '1', 3)];
    part.acked(writes, 7, [writes[1]!, writes[2]!, writes[3]!]);
    const single = stage('d', '1', 4);
    part.acked([single], 8);
    await part.stored();
    expect(store.applied).to.deep.equal([
      { changes: ['b=1', 'a=2', 'c=1'], end: 7 },
      { changes: ['d=1'], end: 8 },
    ]);
    expect(store.checkpoint(0)).to.equal(8);
    expect(read('a')).to.equal('stored 2');
  });

  it('reports each change once: durable when acknowledged, not when abandoned; counts those pending', () => {
    const { part, stage } = partition();
    const a = stage('a', '1', 0);
    const b = stage('b', '1', 1);
    const c = stage('c', '1', 2);
    expect(part.pendingWrites).to.equal(3);
    part.acked([a], 1);
    part.acked([a], 1); // reported again: nothing changes
    expect(part.pendingWrites).to.equal(2);
    part.abandoned([b]);
    expect(part.pendingWrites).to.equal(1);
    expect([a.outcomes, b.outcomes, c.outcomes]).to.deep.equal([[true], [false], []]);
  });

  it('tells who waits for a source offset once its own change is durable (at once when it is)', () => {
    const { part, stage } = partition();
    const first = stage('a', '1', 5);
    const second = stage('b', '1', 6);
    stage('c', '1', 7);
    const heard: string[] = [];
    part.onDurable(6, (durable) => heard.push(`6 ${durable}`));
    part.onDurable(7, (durable) => heard.push(`7 ${durable}`));
    part.acked([first], 1);
    expect(heard, 'another change was acknowledged').to.deep.equal([]);
    part.onDurable(5, (durable) => heard.push(`5 ${durable}`));
    part.acked([second], 2);
    expect(heard, '7 is still in flight').to.deep.equal(['5 true', '6 true']);
  });

  it('tells who waits for a copy of an origin record once that copy’s change is durable (at once when none is in flight)', () => {
    const { part, stage, stageCopy } = partition();
    const origin = (id: string, offset: number): HopOrigin => ({ id, offset, committed: 0 });
    const plain = stage('p', '1', 0); // no hop
    const sameTopicOther = stageCopy('a', 1, origin('orders/0', 7));
    const otherTopicSame = stageCopy('b', 2, origin('orders/1', 8));
    const copy = stageCopy('c', 3, origin('orders/0', 8));
    const ackedEarly = stageCopy('d', 4, origin('orders/1', 9));
    const lost = stageCopy('e', 5, origin('orders/2', 1));
    part.acked([ackedEarly], 1); // out of order: the queue's head stays at `plain`
    const heard: string[] = [];
    const wait = (hop: HopOrigin) =>
      part.onDurableHop(hop, (durable) => heard.push(`${hop.id}@${hop.offset} ${durable}`));
    wait(origin('orders/0', 8));
    wait(origin('orders/2', 1));
    wait(origin('orders/2', 7)); // no copy of it: at once
    wait(origin('orders/0', 9)); // likewise
    wait(origin('orders/1', 9)); // its change is durable already
    expect(heard).to.deep.equal(['orders/2@7 true', 'orders/0@9 true', 'orders/1@9 true']);
    part.acked([plain, sameTopicOther, otherTopicSame], 2);
    expect(heard, 'other copies were acknowledged').to.have.length(3);
    part.acked([copy], 3);
    part.abandoned([lost]);
    expect(heard.slice(3)).to.deep.equal(['orders/0@8 true', 'orders/2@1 false']);
  });

  it('names as applied, for a change, only the origin offsets of copies applied up to it', () => {
    const { part, stage, stageCopy } = partition();
    expect(part.originsAsOf(stage('x', '1', 0)), 'no copy applied here').to.equal(undefined);
    const origins = part.originOffsets();
    expect(part.originOffsets(), 'made once').to.equal(origins);
    expect(part.origins).to.equal(origins);
    const hops: HopOrigin[] = [
      { id: 'orders/0', offset: 7, committed: 0 },
      { id: 'orders/0', offset: 8, committed: 0 },
      { id: 'orders/1', offset: 3, committed: 0 },
    ];
    const first = stageCopy('a', 1, hops[0]!);
    const plain = stage('b', '1', 2);
    const second = stageCopy('c', 3, hops[1]!);
    const third = stageCopy('d', 4, hops[2]!);
    for (const hop of hops) origins.add(hop);
    expect([first, plain, second, third].map((change) => part.originsAsOf(change))).to.deep.equal([
      'orders/0=0;7 orders/1=0;',
      'orders/0=0;7 orders/1=0;',
      'orders/0=0;7.2 orders/1=0;',
      'orders/0=0;7.2 orders/1=0;3',
    ]);
  });

  it('knows an attempt changed it through a change that does not keep its lineage (a held write)', () => {
    const { part } = partition();
    const attempt = lineage();
    expect(part.appliedBy(attempt)).to.equal(false);
    part.appliedNow(attempt);
    expect(part.appliedBy(attempt)).to.equal(true);
    attempt.settleAll();
    expect(part.appliedBy(attempt)).to.equal(false);
  });

  it('a change acknowledged again leaves a newer change of its key in memory', async () => {
    const { part, stage, read } = partition();
    const first = stage('a', '1', 0);
    part.acked([first], 1);
    await part.stored();
    stage('a', '2', 1);
    part.acked([first], 1); // reported again: nothing changes
    await part.stored();
    expect(read('a')).to.equal('2');
  });

  it('tells a waiter on an abandoned change that it will never be durable', () => {
    const { part, stage } = partition();
    stage('a', '1', 5);
    const second = stage('b', '1', 6);
    const heard: boolean[] = [];
    part.onDurable(6, (durable) => heard.push(durable));
    part.abandoned([second]);
    expect(heard).to.deep.equal([false]);
  });

  it('knows which attempts changed it already: queued or acknowledged, while the attempt is under way', () => {
    const { part, stage } = partition();
    const acked = lineage();
    const queued = lineage();
    const other = lineage();
    part.acked([stage('a', '1', 0, acked)], 1);
    stage('b', '1', 1, queued);
    expect(part.appliedBy(acked), 'acknowledged, its attempt under way').to.equal(true);
    expect(part.appliedBy(queued), 'queued').to.equal(true);
    expect(part.appliedBy(other), 'another attempt').to.equal(false);
    acked.settleAll();
    queued.settleAll();
    expect(part.appliedBy(acked), 'that attempt is over').to.equal(false);
    expect(part.appliedBy(queued), 'that attempt is over, its change still queued').to.equal(false);
  });

  it('remembers the attempts under way past a thousand settled changes, and changes no record made', () => {
    const { part, stage } = partition();
    const early = lineage();
    part.acked([stage('k0', '0', 0, early)], 1);
    for (let i = 1; i < 1100; i++) {
      const by = lineage();
      part.acked([stage(`k${i}`, String(i), i, by)], i + 1);
      by.settleAll();
      part.acked([stage(`x${i}`, String(i), -i)], i + 1); // Table.put's changes have no record
    }
    expect(part.appliedBy(early)).to.equal(true);
    expect(part.pendingWrites).to.equal(0);
  });

  it('names as applied, for a change, only the offsets of changes made up to it', () => {
    const { part, stage } = partition();
    const changes = [
      stage('a', '1', 1),
      stage('b', '1', 2),
      stage('p', 'put', -1), // a change no record made: no offset
      stage('c', '1', 0), // a retried record, applied after later ones
    ];
    for (const offset of [1, 2, 0]) part.applied.add(offset);
    expect(changes.map((change) => part.appliedAsOf(change))).to.deep.equal([
      '0;1-2',
      '0;1-3',
      '0;1-3',
      '0;0-3',
    ]);
  });

  it('under test (no changelog) stores each change at once, at the next local offset', async () => {
    const { part, store, stage, read } = partition();
    part.ackedLocally(stage('a', '1', 0));
    part.ackedLocally(stage('a', '2', 1));
    await part.stored();
    expect(store.checkpoint(0)).to.equal(2);
    expect(read('a')).to.equal('stored 2');
  });

  it('keeps serving from memory, and says so, when the store refuses acknowledged changes', async () => {
    const errors: { fields: object; message: string | undefined }[] = [];
    const logger: Logger = { ...silentLogger, error: (fields, message) => errors.push({ fields, message }) };
    const store = new RecordingStore();
    const { part, stage, read } = partition(store, logger);
    store.refuse = true;
    part.acked([stage('a', '1', 0)], 1);
    await part.stored();
    expect(read('a')).to.equal('1');
    expect(errors).to.have.length(1);
    expect(errors[0]!.fields).to.deep.include({ partition: 0 });
    expect(String((errors[0]!.fields as { err?: unknown }).err)).to.match(/disk full/);
    expect(errors[0]!.message).to.match(/refused acknowledged changes/);
    store.refuse = false;
    part.acked([stage('b', '1', 1)], 2);
    await part.stored();
    expect(read('b'), 'later changes still reach the store').to.equal('stored 1');
  });
});
