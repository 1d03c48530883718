/**
 * What the README's `<!-- partial -->` examples take as given from the examples before them (the app of
 * "A first agent", an orders topic…): scripts/check-readme.ts imports from here each name such a block
 * uses without declaring it. Only type-checked, never run.
 */
import { z } from 'zod';
import { type App, type Pipeline, type Topic, json } from 'rivulet';

export { z, json };

export declare const app: App;

export const Order = z.object({
  id: z.string(),
  user: z.string(),
  symbol: z.string(),
  quantity: z.number(),
  price: z.number(),
  placedAt: z.coerce.date(),
});
export type Order = z.infer<typeof Order>;
export declare const orders: Topic<Order>;
export declare const ordersBySymbol: Topic<Order>;
export declare const pipeline: Pipeline<Order, string>;
export declare const bigSpenders: Topic<{ user: string | null; total: number }>;

export const Book = z.object({ account: z.string(), positions: z.record(z.string(), z.number()) });
export type Book = z.infer<typeof Book>;

export interface Snapshot {
  readonly takenAt: Date;
  readonly positions: number;
}
export declare const snapshots: Topic<Snapshot>;
export declare function snapshot(): Snapshot;
export declare function dailyReport(): Promise<void>;
export declare const url: string;
export declare const redis: import('ioredis').Redis;
export declare const writeApi: import('@influxdata/influxdb-client').WriteApi;
export declare const enrichedOrders: Topic<Order & { region: string }>;
