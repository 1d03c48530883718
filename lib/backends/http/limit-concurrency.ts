import { Observable } from 'rxjs';

/**
 * A shared gate: the Observables passed through it run at most `limit` at once, the rest wait in
 * arrival order for a slot. Unsubscribing a waiting one removes it from the queue; unsubscribing a
 * running one frees its slot.
 *
 * @example
 * ```ts
 * const gate = limitConcurrency(16);
 * requests.map((request) => gate(defer(() => client.request(request))));
 * ```
 */
export function limitConcurrency(limit: number): <T>(work: Observable<T>) => Observable<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    active--;
    waiting.shift()?.();
  };
  return <T>(work: Observable<T>) =>
    new Observable<T>((subscriber) => {
      let running = false;
      let closed = false;
      const start = (): void => {
        if (closed) return release();
        running = true;
        subscriber.add(work.subscribe(subscriber));
      };
      if (active < limit) {
        active++;
        start();
      } else {
        waiting.push(() => {
          active++;
          start();
        });
      }
      return () => {
        closed = true;
        if (running) {
          running = false;
          release();
        }
      };
    });
}
