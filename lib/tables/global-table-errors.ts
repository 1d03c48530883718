import { RivuletError } from '../core/errors.js';

/**
 * A global table was read before it had caught up with its topic: before `app.start()` resolved (it
 * waits until every global table has read its topic up to the end offsets it saw at start), or
 * outside an app that started. Agents never see it: they start once the global tables are ready.
 *
 * @example
 * ```ts
 * const customers = app.globalTable('customers', { value: json(Customer) });
 * customers.get('c1'); // throws GlobalTableNotReadyError: app.start() has not finished
 * await app.start();
 * customers.get('c1'); // the row, or undefined
 * ```
 */
export class GlobalTableNotReadyError extends RivuletError {
  constructor(
    readonly table: string,
    readonly state: string,
  ) {
    super(
      `Global table ${table} is ${state}, not ready: it answers once app.start() has restored it from its topic`,
    );
  }
}
