/**
 * `npm start`: the six sample apps on the embedded broker (or on Kafka when KAFKA_URL is set), each
 * fed by a data generator, with a live status line per agent and a summary at the end. Exits by itself
 * once everything generated is processed and committed (and the windows of order volume and region volume closed); Ctrl-C stops earlier, gracefully.
 *
 *   KAFKA_URL=kafka://127.0.0.1:19092  REDIS_URL=redis://127.0.0.1:16379  EMAIL_URL=http://…  INFLUX_URL=http://…
 *   SAMPLE_ACTIVITIES=20000 SAMPLE_ORDERS=5000 SAMPLE_FILLS=5000
 */
process.env.RIVULET_LOG_LEVEL ??= 'warn'; // keep the terminal for the status line

const { setupSamples } = await import('./setup.js');
const { statusLine, summary } = await import('rivulet');
const { waitForCommitted } = await import('rivulet/testing');

const activities = Number(process.env.SAMPLE_ACTIVITIES ?? 20_000);
const orders = Number(process.env.SAMPLE_ORDERS ?? 5_000);
const fills = Number(process.env.SAMPLE_FILLS ?? 5_000);
const samples = await setupSamples(process.env);
for (const line of samples.describe()) console.log(line);

const apps = samples.apps;
const monitored = {
  agents: apps.flatMap((app) => app.agents),
  transport: () => apps[0]!.transport(),
  sinkHealth: () => apps.flatMap((app) => app.sinkHealth()), // each app keeps its own sinks' health
};
const started = Date.now();
let interrupted = false;
const stopWaiting = new AbortController();
const interruption = new Promise<void>((resolve) =>
  process.once('SIGINT', () => {
    interrupted = true;
    stopWaiting.abort();
    console.log(
      '\nCtrl-C: stopping (writes under way finish and are committed, the rest is delivered next run); again to quit at once',
    );
    process.once('SIGINT', () => process.exit(130));
    resolve();
  }),
);

await Promise.all(apps.map((app) => app.start()));
const status = statusLine(monitored, { intervalMs: 500 });
await Promise.race([samples.generate(activities, orders, () => interrupted, fills), interruption]);
await Promise.race([
  Promise.all(apps.map((app) => waitForCommitted(app, { timeoutMs: 600_000, signal: stopWaiting.signal })))
    .then(() => samples.windowsClosed(orders, { timeoutMs: 60_000, signal: stopWaiting.signal }))
    .catch((error: unknown) => {
      if (!interrupted) throw error;
    }),
  interruption,
]);
await Promise.all(apps.map((app) => app.stop()));
status.stop();
console.log(`\nsummary after ${((Date.now() - started) / 1000).toFixed(1)} s:`);
process.stdout.write(summary(monitored, { elapsedMs: Date.now() - started }));
for (const line of await samples.results()) console.log(line);
await samples.close();
const failed = apps.find((app) => app.failure);
if (failed) {
  console.error(failed.failure);
  process.exitCode = 1;
}
