/**
 * Counts where a process allocates: preload it (`node --import tsx --import ./bench/alloc-profile.ts …`)
 * and it writes, when the process exits, V8's sampling heap profile including the objects the garbage
 * collector already freed (so it shows allocation volume, not what is alive at the end) to ALLOC_OUT
 * (default `alloc.heapprofile`; open it in Chrome DevTools, Memory tab). Used for issue 17:
 *
 *   BENCH_CHILD=rivulet BENCH_TOPIC=<topic> BENCH_COUNT=<its records> \
 *     node --import tsx --import ./bench/alloc-profile.ts bench/kafka.bench.ts
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.on('exit', () => {
  // A session on the main thread answers synchronously, so this runs before the process is gone.
  session.post('HeapProfiler.stopSampling', (error, result: { profile: unknown }) => {
    if (error) process.stderr.write(`alloc-profile: ${error.message}\n`);
    else writeFileSync(process.env.ALLOC_OUT ?? 'alloc.heapprofile', JSON.stringify(result.profile));
  });
});
