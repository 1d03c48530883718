import type * as PromClient from 'prom-client';
import { lazyModule } from '../core/lazy-module.js';

/** prom-client, loaded when the first metric is registered (most processes never do). @internal */
export const promClient = lazyModule<typeof PromClient>('prom-client');
