/**
 * `promise`, or `fallback` once `ms` have passed, whichever comes first; the timer is cleared either
 * way. For shutdown deadlines, which run on the wall clock (not a scheduler: see ARCHITECTURE, Time).
 * With `unref`, the timer alone does not keep the process alive.
 *
 * @example
 * ```ts
 * const timedOut = await withDeadline(drained.then(() => false), 30_000, true);
 * ```
 * @internal
 */
export async function withDeadline<T, F>(
  promise: Promise<T>,
  ms: number,
  fallback: F,
  options: { readonly unref?: boolean } = {},
): Promise<T | F> {
  let deadline: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<F>((resolve) => {
        deadline = setTimeout(() => resolve(fallback), ms);
        if (options.unref) deadline.unref();
      }),
    ]);
  } finally {
    clearTimeout(deadline);
  }
}
