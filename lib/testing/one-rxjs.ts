import { Observable } from 'rxjs';

/**
 * The code of the process warning {@link warnIfOtherRxjs} emits.
 * @internal
 *
 * @example
 * ```ts
 * process.on('warning', (warning) => {
 *   if ((warning as { code?: string }).code === OTHER_RXJS_WARNING) console.error(warning.message);
 * });
 * ```
 */
export const OTHER_RXJS_WARNING = 'RIVULET_OTHER_RXJS';

let warned = false;

/**
 * Warns once per process (a Node process warning, code `RIVULET_OTHER_RXJS`) when `observable` was made
 * by another copy of rxjs than rivulet's. Then the app's `TestScheduler.run` does not reach rivulet's
 * timers: they run on rivulet's own `asyncScheduler`, in real time. It happens when rivulet is installed
 * as a symlink to a folder (`npm install ../rivulet`): Node resolves rivulet's `rxjs` from the folder,
 * not from the app.
 * @internal
 *
 * @example
 * ```ts
 * warnIfOtherRxjs(input); // the input of testPipeline, made by the app's rxjs
 * ```
 */
export function warnIfOtherRxjs(observable: unknown): void {
  if (warned || observable instanceof Observable || !isRxObservable(observable)) return;
  warned = true;
  const message =
    'rivulet and your code load two copies of rxjs: a TestScheduler of yours does not drive rivulet’s ' +
    'timers (they run in real time). A folder install (`npm install ../rivulet`) makes a symlink, and ' +
    'rivulet then resolves rxjs from that folder. Install it with `npm install --install-links ../rivulet`, ' +
    'or from a tarball or git, or pass your scheduler to the operators (`scheduler`) explicitly.';
  globalThis.process?.emitWarning(message, { code: OTHER_RXJS_WARNING });
}

/** An rxjs Observable, of whatever copy (they all have `lift`, which interop observables don't). */
function isRxObservable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { lift?: unknown; pipe?: unknown; subscribe?: unknown };
  return (
    typeof candidate.lift === 'function' &&
    typeof candidate.pipe === 'function' &&
    typeof candidate.subscribe === 'function'
  );
}
