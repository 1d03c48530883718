/**
 * Positions: fills (executed orders, keyed by order id) arrive on `fills`; they are re-keyed by account
 * (`repartition`) so that each account's fills meet on one partition, and the table `positions` keeps
 * the running position per account and symbol, exact after a crash. A fill that takes an account's
 * position in a symbol over ±POSITION_LIMIT sends an alert to `position_alerts`; a timer publishes a
 * snapshot of the table every second (and a last one as the app stops).
 *
 * Under `rivulet worker` the worker serves the table over HTTP: `GET /tables/positions/account-3` on the
 * worker that owns the key's partition (the others answer which partition does). See ./worker.ts.
 */
import { type Observable, concat, of } from 'rxjs';
import { z } from 'zod';
import {
  type Message,
  type Table,
  createApp,
  filterValue,
  json,
  mapValue,
  repartition,
  toTopic,
  updateTable,
} from 'rivulet';
import { SYMBOLS } from '../orders/orders.js';

export const Fill = z.object({
  orderId: z.string(),
  account: z.string(),
  symbol: z.string(),
  /** Signed: positive bought, negative sold. */
  quantity: z.number().int(),
  price: z.number().positive(),
});
export type Fill = z.infer<typeof Fill>;

export const PositionAlert = z.object({
  account: z.string(),
  symbol: z.string(),
  position: z.number(),
  limit: z.number(),
  /** The fill that crossed the limit. */
  orderId: z.string(),
});
export type PositionAlert = z.infer<typeof PositionAlert>;

/** An account's row in the table: quantity per symbol, and its latest crossings (the last 5: a changelog record stays small). */
export const Book = z.object({ positions: z.record(z.string(), z.number()), alerts: z.array(PositionAlert) });
export type Book = z.infer<typeof Book>;
export type PositionsTable = Table<string, Book, Book>;

export const POSITION_LIMIT = 1000;

/** The fold: a fill moves its symbol's position; crossing ±limit from inside records an alert. */
export function applyFill(book: Book, fill: Fill, limit = POSITION_LIMIT): Book {
  const before = book.positions[fill.symbol] ?? 0;
  const position = before + fill.quantity;
  const crossed = Math.abs(before) <= limit && Math.abs(position) > limit;
  const alert = { account: fill.account, symbol: fill.symbol, position, limit, orderId: fill.orderId };
  return {
    positions: { ...book.positions, [fill.symbol]: position },
    alerts: crossed ? [...book.alerts, alert].slice(-5) : book.alerts,
  };
}

/**
 * The agent: fills keyed by account → the table → an alert per crossing. The alert is read from the
 * table row, so a fill delivered again after a crash (`replayed`, the table unchanged) sends its alert
 * again if it had crossed: alerts are at least once, the positions exact.
 */
export const trackPositions =
  (positions: PositionsTable) => (fill$: Observable<Message<Fill, string | null>>) =>
    fill$.pipe(
      updateTable(positions, (book, { value: fill }) => applyFill(book, fill)),
      mapValue(({ value: book, input }) => book.alerts.find((a) => a.orderId === input.orderId)),
      filterValue((alert): alert is PositionAlert => alert !== undefined),
    );

/** Every account's row this worker owns (the partitions it has restored). */
export function readPositions(positions: PositionsTable): Map<string, Book> {
  const books = new Map<string, Book>();
  for (const { partition, state } of positions.stats().partitions) {
    if (state !== 'ready') continue;
    let page = positions.keys(partition);
    for (;;) {
      for (const account of page.keys) books.set(account, positions.get(account));
      if (page.next === undefined) break;
      page = positions.keys(partition, { after: page.next });
    }
  }
  return books;
}

export function createPositionsApp(options: {
  broker: string;
  /** Called with the table's rows every `snapshotMs` (default 1000) and once more as the app stops. */
  onSnapshot?: (books: Map<string, Book>) => void;
  snapshotMs?: number;
  /** Called for each alert read back from `position_alerts` (default: an info log line). */
  onAlert?: (alert: PositionAlert) => void;
}) {
  const app = createApp({ id: 'positions', broker: options.broker });
  const fills = app.topic('fills', { value: json(Fill), partitions: 4 }); // keyed by order id
  const alerts = app.topic('position_alerts', { value: json(PositionAlert), partitions: 4 });
  const byAccount = repartition(app, 'by-account', fills, (m) => m.value.account);
  const positions = app.table('positions', {
    value: json(Book),
    default: () => ({ positions: {}, alerts: [] }),
  });
  app.agent('track-positions', byAccount, (fill$) => fill$.pipe(trackPositions(positions), toTopic(alerts)));
  const onAlert = options.onAlert ?? ((alert) => app.logger.info(alert, 'position over the limit'));
  app.agent('report-alerts', alerts, (alert$) => alert$.pipe(mapValue(onAlert)));
  concat(app.timer(options.snapshotMs ?? 1000), of('stopping')).subscribe(() =>
    options.onSnapshot?.(readPositions(positions)),
  );
  return { app, fills, alerts, positions };
}

/** Made-up fills among `accounts` accounts; account-3 mostly buys, so it runs over the limit. */
export function generateFills(count: number, accounts = 10, seed = 7): Fill[] {
  let state = seed;
  const random = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648; // a small LCG: the same fills every run
    return state / 2_147_483_648;
  };
  return Array.from({ length: count }, (_, i) => {
    const account = `account-${i % accounts}`;
    const buy = random() < (account === 'account-3' ? 0.6 : 0.5);
    return {
      orderId: `fill-${i}`,
      account,
      symbol: SYMBOLS[Math.floor(random() * SYMBOLS.length)]!,
      quantity: (buy ? 1 : -1) * 10 * (1 + Math.floor(random() * 20)),
      price: Math.round((20 + random() * 180) * 100) / 100,
    };
  });
}
