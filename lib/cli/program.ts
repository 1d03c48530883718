import { createRequire } from 'node:module';
import { Command, InvalidArgumentError } from 'commander';
import { cliLogger } from './cli-logger.js';
import { sendCommand } from './commands/send.js';
import { tailCommand } from './commands/tail.js';
import { workerCommand } from './commands/worker.js';

const BROKER_HELP =
  'broker URL: kafka://host:port[,host:port…] (default: $RIVULET_BROKER, else $KAFKA_URL). ' +
  'memory:// is refused: it lives inside one process, and this command talks to others';

function wholeNumber(name: string, min: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return value;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** What the commands do with their results: set the exit code, print lines. @internal */
export interface ProgramIo {
  setExitCode(code: number): void;
  out(text: string): void;
  err(text: string): void;
}

/**
 * The `rivulet` command line: `worker`, `send` and `tail`, on commander.
 *
 * @example
 * ```ts
 * await rivuletProgram().parseAsync(['node', 'rivulet', 'send', 'orders', '{"quantity":1}']);
 * ```
 */
export function rivuletProgram(
  io: ProgramIo = {
    setExitCode: (code) => (process.exitCode = code),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  },
): Command {
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  const program = new Command()
    .name('rivulet')
    .description('Run rivulet apps and poke at their topics')
    .version(version)
    // help, version and usage errors throw a CommanderError (with its exit code) instead of calling
    // process.exit: the caller ends the command the way it ends every other (main.ts)
    .exitOverride()
    .option('--verbose', 'print stacks with errors, and every client log line (or set RIVULET_DEBUG=1)');
  const logger = () =>
    cliLogger({
      verbose: Boolean(program.opts<{ verbose?: boolean }>().verbose) || Boolean(process.env.RIVULET_DEBUG),
      write: io.err,
    });

  program
    .command('worker')
    .description(
      "Run an app's agents (graceful stop on SIGTERM/SIGINT) and serve /metrics (Prometheus) and /healthz. " +
        'Exits 1 when an agent failed.',
    )
    .argument(
      '<app-module>',
      'module exporting the App as default or as `app` (path relative to the cwd; a .ts module runs under ' +
        'the tsx installed in your project: npm install -D tsx)',
    )
    .option(
      '-p, --port <port>',
      'port of /metrics and /healthz (0: any free port, logged)',
      wholeNumber('port', 0),
      9464,
    )
    .option('--host <host>', 'interface to listen on (default: all)')
    .action(async (modulePath: string, options: { port: number; host?: string }) => {
      io.setExitCode(await workerCommand(modulePath, options));
    });

  program
    .command('send')
    .description(
      'Produce one record whose value is the given JSON to a Kafka topic; prints where it landed ' +
        '({topic, partition, offset}) on stdout',
    )
    .argument('<topic>')
    .argument('<json>', 'the value, as JSON text')
    .option('-k, --key <key>', 'record key (a string)')
    .option('-H, --header <name=value>', 'record header (repeatable)', collect, [])
    .option('-b, --broker <url>', BROKER_HELP)
    .action(
      async (topic: string, json: string, options: { key?: string; header: string[]; broker?: string }) => {
        const metadata = await sendCommand({
          topic,
          json,
          headers: options.header,
          logger: logger(),
          ...pick(options, 'key', 'broker'),
        });
        io.out(`${JSON.stringify(metadata)}\n`);
      },
    );

  program
    .command('tail')
    .description(
      'Print one JSON line per record ({partition, offset, key, value, headers, timestamp}). Reads in a fresh ' +
        'consumer group of its own and never commits, so no app offsets move.',
    )
    .argument('<topic>')
    .option('-b, --broker <url>', BROKER_HELP)
    .option('--from-beginning', 'start at the earliest record (default: only records produced from now on)')
    .option('-n, --max <n>', 'stop after n records', wholeNumber('max', 1))
    .action(async (topic: string, options: { broker?: string; fromBeginning?: boolean; max?: number }) => {
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop).once('SIGTERM', stop);
      try {
        await tailCommand(
          { topic, signal: abort.signal, ...pick(options, 'broker', 'fromBeginning', 'max') },
          { write: io.out, logger: logger(), onReady: () => io.err(`tailing ${topic} (Ctrl-C to stop)\n`) },
        );
      } finally {
        process.off('SIGINT', stop).off('SIGTERM', stop);
      }
    });

  return program;
}

/** The given options that are set (commander leaves the others undefined). */
function pick<T extends object, N extends keyof T>(options: T, ...names: N[]): Partial<Pick<T, N>> {
  const picked: Partial<Pick<T, N>> = {};
  for (const name of names) if (options[name] !== undefined) picked[name] = options[name];
  return picked;
}
