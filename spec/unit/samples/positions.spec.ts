import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { createApp, silentLogger } from '../../../lib/index.js';
import { testMessage, testPipeline } from '../../../lib/testing/index.js';
import {
  type Book,
  type Fill,
  POSITION_LIMIT,
  applyFill,
  generateFills,
  readPositions,
  trackPositions,
} from '../../../samples/positions/positions.js';

const empty: Book = { positions: {}, alerts: [] };
const fill = (orderId: string, quantity: number, symbol = 'ACME', account = 'account-1'): Fill => ({
  orderId,
  account,
  symbol,
  quantity,
  price: 100,
});

/** The reference: positions summed per account and symbol, and the fills that crossed ±limit, in order. */
function reference(fills: readonly Fill[]): { positions: Map<string, number>; crossings: string[] } {
  const positions = new Map<string, number>();
  const crossings: string[] = [];
  for (const f of fills) {
    const key = `${f.account}/${f.symbol}`;
    const before = positions.get(key) ?? 0;
    const after = before + f.quantity;
    if (Math.abs(before) <= POSITION_LIMIT && Math.abs(after) > POSITION_LIMIT) crossings.push(f.orderId);
    positions.set(key, after);
  }
  return { positions, crossings };
}

function positionsTable() {
  const app = createApp({ id: 'positions-unit', broker: 'memory://positions-unit', logger: silentLogger });
  return app.table('positions', { default: (): Book => ({ positions: {}, alerts: [] }) });
}

describe('sample: positions', () => {
  it('alerts when a position crosses the limit from inside, on either side, and again after coming back', () => {
    let book = applyFill(empty, fill('a', POSITION_LIMIT)); // at the limit: not over
    expect(book.alerts).to.deep.equal([]);
    book = applyFill(book, fill('b', 1));
    expect(book.positions).to.deep.equal({ ACME: POSITION_LIMIT + 1 });
    expect(book.alerts).to.deep.equal([
      {
        account: 'account-1',
        symbol: 'ACME',
        position: POSITION_LIMIT + 1,
        limit: POSITION_LIMIT,
        orderId: 'b',
      },
    ]);
    book = applyFill(book, fill('c', 500)); // further over: no new alert
    book = applyFill(book, fill('d', -3000)); // from over to beyond −limit in one fill: not from inside
    expect(book.alerts.map((a) => a.orderId)).to.deep.equal(['b']);
    book = applyFill(book, fill('e', 1000)); // back inside (−499)
    book = applyFill(book, fill('f', -600)); // −1099: crossed again, on the short side
    book = applyFill(book, fill('g', 2000, 'HOOLI')); // another symbol has its own position
    expect(book.positions).to.deep.equal({ ACME: -1099, HOOLI: 2000 });
    expect(book.alerts.map((a) => [a.orderId, a.symbol, a.position])).to.deep.equal([
      ['b', 'ACME', 1001],
      ['f', 'ACME', -1099],
      ['g', 'HOOLI', 2000],
    ]);
  });

  it('keeps the last 5 crossings of an account in its row', () => {
    let book = empty;
    for (let i = 0; i < 30; i++) {
      book = applyFill(book, fill(`up-${i}`, 2000));
      book = applyFill(book, fill(`down-${i}`, -2000));
    }
    expect(book.alerts).to.have.length(5);
    expect(book.alerts[4]!.orderId).to.equal('up-29');
  });

  it('generates the same fills every run, with account-3 running over the limit', () => {
    expect(generateFills(50)).to.deep.equal(generateFills(50));
    const { positions, crossings } = reference(generateFills(5000));
    expect(crossings.length).to.be.within(20, 300);
    const account3 = [...positions].filter(([key]) => key.startsWith('account-3/')).map(([, q]) => q);
    expect(Math.max(...account3)).to.be.above(POSITION_LIMIT);
  });

  it('keeps positions equal to a reference fold of the fills and alerts exactly for the crossings', async () => {
    const fills = generateFills(2000);
    const positions = positionsTable();
    const run = testPipeline(
      trackPositions(positions),
      from(fills.map((f, offset) => testMessage(f, { key: f.account, offset }))),
    );
    const alerts = await lastValueFrom(run.output.pipe(toArray()));
    const expected = reference(fills);
    expect(alerts.map((m) => m.value.orderId)).to.deep.equal(expected.crossings);
    for (const alert of alerts)
      expect(Math.abs(alert.value.position)).to.be.above(POSITION_LIMIT, alert.value.orderId);
    const accounts = new Set(fills.map((f) => f.account));
    const table = new Map<string, number>();
    for (const account of accounts)
      for (const [symbol, quantity] of Object.entries(positions.get(account).positions))
        table.set(`${account}/${symbol}`, quantity);
    expect(table).to.deep.equal(expected.positions);
    // keys() lists what reached the store (a promise chain behind the acknowledgements)
    await new Promise((resolve) => setImmediate(resolve));
    const rows = readPositions(positions);
    expect([...rows.keys()].sort()).to.deep.equal([...accounts].sort());
    for (const [account, book] of rows) expect(book).to.deep.equal(positions.get(account));
  });

  it('does not apply a fill delivered again, and sends its alert again if it had crossed', async () => {
    const positions = positionsTable();
    const first = [fill('a', 900), fill('b', 200), fill('c', 50)];
    const messages = [
      ...first.map((f, offset) => testMessage(f, { key: f.account, offset })),
      // after a crash: b and c come again (same offsets), then a new fill
      testMessage(first[1]!, { key: 'account-1', offset: 1 }),
      testMessage(first[2]!, { key: 'account-1', offset: 2 }),
      testMessage(fill('d', 10), { key: 'account-1', offset: 3 }),
    ];
    const run = testPipeline(trackPositions(positions), from(messages));
    const settled: number[] = [];
    run.settled.subscribe((offset) => settled.push(offset));
    const alerts = await lastValueFrom(run.output.pipe(toArray()));
    expect(alerts.map((m) => [m.offset, m.value.orderId, m.value.position])).to.deep.equal([
      [1, 'b', 1100],
      [1, 'b', 1100], // the redelivered crossing: its alert again, with the position it crossed at
    ]);
    expect(positions.get('account-1').positions).to.deep.equal({ ACME: 1160 });
    expect(settled).to.include.members([0, 1, 2, 3]); // what is not an alert is settled as filtered
  });
});
