import os from 'node:os';

/** One line naming the machine a benchmark ran on. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const memoryGiB = Math.round(os.totalmem() / 2 ** 30);
  return `${cpu}, ${os.cpus().length} cores, ${memoryGiB} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}
