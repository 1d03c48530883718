/**
 * A stand-in for the InfluxDB market data, in process: answers the execution-quality sample's InfluxQL
 * query (`SELECT last(price) FROM marketdata WHERE symbol = '…' AND time <= '…'`) from the made-up
 * market of the order generator.
 */
import type { InfluxQLQuery, InfluxRow } from 'rivulet/influx';
import { marketPrice } from '../orders/orders.js';

const QUERY = /symbol = '((?:[^'\\]|\\.)*)' AND time <= '([^']+)'/;

export class MarketDataStandIn {
  queries = 0;

  async query(query: InfluxQLQuery): Promise<readonly InfluxRow[]> {
    this.queries++;
    const match = QUERY.exec(query.text);
    if (!match) throw new Error(`the market-data stand-in does not understand: ${query.text}`);
    const time = new Date(match[2]!);
    return [{ time: time.getTime(), last: marketPrice(match[1]!, time) }];
  }
}

/** Line protocol of the made-up market, one point per second per symbol, to seed a real InfluxDB. */
export function marketDataLines(symbols: readonly string[], from: Date, to: Date): string[] {
  const lines: string[] = [];
  for (let t = Math.floor(from.getTime() / 1000) * 1000; t <= to.getTime(); t += 1000) {
    for (const symbol of symbols)
      lines.push(`marketdata,symbol=${symbol} price=${marketPrice(symbol, new Date(t))} ${t}`);
  }
  return lines;
}
