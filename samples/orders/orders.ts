/** The orders both order samples read, and a made-up market to generate them from. */
import { z } from 'zod';

export const Order = z.object({
  id: z.string(),
  user: z.string(),
  symbol: z.string(),
  quantity: z.number().int().positive(),
  /** Price the order executed at. */
  price: z.number().positive(),
  executedAt: z.coerce.date(),
});
export type Order = z.infer<typeof Order>;

export const SYMBOLS = ['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI'] as const;

/** The made-up market price of a symbol at a time: a slow wave around a base price. */
export function marketPrice(symbol: string, time: Date): number {
  const base = 50 + 40 * SYMBOLS.indexOf(symbol as (typeof SYMBOLS)[number]);
  const wave = Math.sin(time.getTime() / 60_000 + base);
  return Math.round(base * (1 + 0.02 * wave) * 100) / 100;
}

/** Made-up orders: executed near the market price, one in 20 far from it (the outliers to flag). */
export function generateOrders(count: number, start = Date.now() - 60_000): Order[] {
  return Array.from({ length: count }, (_, i) => {
    const symbol = SYMBOLS[i % SYMBOLS.length]!;
    const executedAt = new Date(start + i * 10);
    const slip = i % 20 === 7 ? 0.05 : ((i * 37) % 11) / 10_000;
    return {
      id: `order-${i}`,
      user: `user-${i % 40}`,
      symbol,
      quantity: 1 + ((i * 13) % 100),
      price: Math.round(marketPrice(symbol, executedAt) * (1 + slip) * 100) / 100,
      executedAt,
    };
  });
}
