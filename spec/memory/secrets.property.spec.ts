import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import fc from 'fast-check';
import { pino } from 'pino';
import { DEAD_LETTER_HEADERS } from '../../lib/agent/dead-letter.js';
import { serveWorker } from '../../lib/cli/worker-server.js';
import { rivuletProgram } from '../../lib/cli/program.js';
import { createApp } from '../../lib/app/app.js';
import type { Logger } from '../../lib/core/logger.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { toTopic } from '../../lib/sinks/to-topic.js';
import { KafkaTransport } from '../../lib/transports/kafka/kafka-transport.js';
import { parseKafkaUrl } from '../../lib/transports/kafka/kafka-options.js';
import { MemoryTransport, memoryBroker } from '../../lib/transports/memory/memory-transport.js';
import { waitFor } from '../../lib/testing/index.js';

/**
 * Credentials never leak: passwords from the whole printable range, put into well-formed and malformed
 * broker URLs of many shapes, fed to every entry point that takes a URL. No captured output (error
 * messages and stacks, log lines at every level, dead-letter headers, /metrics, /healthz, CLI output)
 * may contain the password or any 4-character slice of it.
 */

/** Text that rivulet prints whatever the password: gathered with a neutral password (see `before`). */
let baseline = '';

const slices = (password: string): string[] =>
  Array.from({ length: password.length - 3 }, (_, i) => password.slice(i, i + 4));

/**
 * Stack frames' line and column numbers (`:14:3`) as `:L:C`: which numbers show depends on the code path
 * an error took, so a slice such as ":14)" could match a frame that the baseline did not print.
 */
const withoutLocations = (text: string): string => text.replace(/:\d+:\d+/g, ':L:C');

/** The first 4-character slice of `password` found in `text` (frame locations masked), if any. */
const leak = (text: string, password: string): string | undefined => {
  const shown = withoutLocations(text);
  return shown.includes(password) ? password : slices(password).find((slice) => shown.includes(slice));
};

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
/** URL syntax, drawn more often than the printable range alone would. */
const reserved = fc.constantFrom(...'@:/%?&#=+[] ');
const unicode = fc.constantFrom('é', 'ß', '€', '🔑', '\u00a0');
/**
 * Passwords of 8 to 24 characters from the printable ASCII range, with URL syntax characters drawn
 * more often, now and then a non-ASCII one. Filtered out: passwords with a 4-character slice that rivulet prints
 * anyway for every password ("kafk", "Brok", "127.", a stack frame's path…): such a slice in the
 * output would prove nothing.
 */
const passwords = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: printable },
      { weight: 4, arbitrary: reserved },
      { weight: 1, arbitrary: unicode },
    ),
    {
      minLength: 8,
      maxLength: 24,
    },
  )
  .map((chars) => chars.join(''))
  .filter((password) => leak(baseline, password) === undefined);
const users = fc.constantFrom('alice', 'bob', 'svc-orders');

const HOST = '127.0.0.1:49092';
/** A port nothing listens on (set in `before`): kafkajs fails at once, without a broker. */
let closedPort = 0;
const enc = encodeURIComponent;

/** URL shapes: well-formed and malformed, with the password raw or encoded. */
const SHAPES: Record<string, (user: string, password: string) => string> = {
  encoded: (u, p) => `kafka://${u}:${enc(p)}@127.0.0.1:${closedPort}?sasl=scram-sha-512`,
  encodedPlain: (u, p) => `kafka://${enc(u)}:${enc(p)}@127.0.0.1:${closedPort}`,
  raw: (u, p) => `kafka://${u}:${p}@${HOST}?sasl=scram-sha-512`,
  oneSlash: (u, p) => `kafka:/${u}:${p}@${HOST}?sasl=scram-sha-512`,
  noSlash: (u, p) => `kafka:${u}:${enc(p)}@${HOST}`,
  threeSlashes: (u, p) => `kafka:///${u}:${p}@${HOST}`,
  noScheme: (u, p) => `${u}:${p}@${HOST}`,
  noSchemeNoUser: (p) => `${p}@${HOST}`,
  rawSlash: (u, p) => `kafka://${u}:${enc(p).slice(0, 3)}/${enc(p).slice(3)}@${HOST}`,
  rawAt: (u, p) => `kafka://${u}:${p.slice(0, 2)}@${p.slice(2)}@${HOST}`,
  badEscape: (u, p) => `kafka://${u}:${enc(p)}%G${p.length % 10}@${HOST}`,
  truncatedEscape: (u, p) => `kafka://${u}:${enc(p)}%4@${HOST}`,
  badUtf8: (u, p) => `kafka://${u}:${enc(p)}%C3%28@${HOST}`,
  noUser: (_u, p) => `kafka://${enc(p)}@${HOST}`,
  noHost: (u, p) => `kafka://${u}:${enc(p)}@`,
  noPort: (u, p) => `kafka://${u}:${enc(p)}@127.0.0.1`,
  atInHost: (u, p) => `kafka://${u}:${p}`,
  badParameter: (u, p) => `kafka://${u}:${enc(p)}@${HOST}?sasl=gssapi&colour=${enc(p)}`,
  path: (u, p) => `kafka://${u}:${enc(p)}@${HOST}/extra`,
  upperCaseSpaced: (u, p) => `  KAFKA:/${u}:${p}@${HOST}  `,
  memory: (u, p) => `memory://${u}:${p}@name`,
  otherScheme: (u, p) => `amqp://${u}:${enc(p)}@${HOST}`,
};

/** Everything an entry point printed, logged or answered. */
class Capture {
  readonly texts: string[] = [];
  readonly #lines: string[] = [];

  /** A pino logger at trace level writing JSON lines here. */
  logger(): Logger {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.#lines.push(chunk.toString('utf8'));
        done();
      },
    });
    return pino({ level: 'trace' }, stream);
  }

  error(error: unknown, depth = 0): void {
    if (error instanceof Error) {
      this.texts.push(String(error), error.message, String(error.stack));
      if (error.cause !== undefined && depth < 5) this.error(error.cause, depth + 1);
    } else {
      this.texts.push(String(error));
    }
  }

  /** Every captured string; log lines decoded, so JSON escaping hides nothing. */
  all(): string {
    const strings: string[] = [...this.texts];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    for (const line of this.#lines) {
      strings.push(line);
      for (const json of line.split('\n').filter(Boolean)) walk(JSON.parse(json));
    }
    return strings.join('\n');
  }
}

async function fetchText(port: number, path: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return `${response.status} ${await response.text()}`;
}

let run = 0;

/** createApp({ broker }) + start, send, /metrics and /healthz of a worker serving it. */
async function viaCreateApp(url: string, capture: Capture): Promise<void> {
  const app = createApp({ id: `leak-${++run}`, broker: url, logger: capture.logger() });
  const topic = app.topic('orders');
  app.agent('confirm', topic, (message$) => message$);
  await app.start().then(
    () => expect.fail('started with a bad broker URL'),
    (error: unknown) => capture.error(error),
  );
  await topic.send({ id: 1 }).then(
    () => expect.fail('sent with a bad broker URL'),
    (error: unknown) => capture.error(error),
  );
  const metrics = appMetrics(app, { logger: capture.logger() });
  const server = await serveWorker(app, metrics, { port: 0, host: '127.0.0.1' });
  try {
    capture.texts.push(await fetchText(server.port, '/healthz'), await fetchText(server.port, '/metrics'));
  } finally {
    await server.close();
    metrics.close();
    await app.stop();
  }
}

/** `rivulet send --broker <url>`, and `rivulet send` with the URL in $RIVULET_BROKER, in process. */
async function viaCli(url: string, capture: Capture): Promise<void> {
  for (const [args, env] of [
    [['send', 'orders', '{"id":1}', '--broker', url], undefined],
    [['send', 'orders', '{"id":1}'], url],
  ] as const) {
    const program = rivuletProgram({
      setExitCode: (code) => capture.texts.push(`exit ${code}`),
      out: (text) => capture.texts.push(text),
      err: (text) => capture.texts.push(text),
    })
      .exitOverride()
      .configureOutput({
        writeOut: (text) => capture.texts.push(text),
        writeErr: (text) => capture.texts.push(text),
      });
    const saved = process.env.RIVULET_BROKER;
    if (env !== undefined) process.env.RIVULET_BROKER = env;
    try {
      await program.parseAsync(['node', 'rivulet', ...args]).then(
        () => expect.fail('rivulet send succeeded with a bad broker URL'),
        (error: unknown) => capture.error(error),
      );
    } finally {
      if (saved === undefined) delete process.env.RIVULET_BROKER;
      else process.env.RIVULET_BROKER = saved;
    }
  }
}

/** An agent on memory:// whose toTopic sink writes to another app with the URL: dead-lettered. */
async function viaToTopic(url: string, capture: Capture): Promise<void> {
  const broker = memoryBroker(`leak-${++run}`);
  const source = createApp({
    id: `src-${run}`,
    transport: new MemoryTransport(broker),
    logger: capture.logger(),
  });
  const target = createApp({ id: `dst-${run}`, broker: url, logger: capture.logger() });
  const input = source.topic<{ id: number }>('input');
  source.agent(
    'forward',
    input,
    (message$) => message$.pipe(toTopic(target.topic('out'), { retry: { retries: 0 } })),
    {
      errors: { retries: 0 },
    },
  );
  await source.start();
  await input.send({ id: 1 });
  await waitFor(() => broker.read('input.dlq', 0, 0, 1).length === 1);
  const [dead] = broker.read('input.dlq', 0, 0, 1);
  expect(dead!.headers[DEAD_LETTER_HEADERS.errorName]).to.be.a('string');
  capture.texts.push(JSON.stringify(dead!.headers), ...Object.values(dead!.headers));
  const metrics = appMetrics(source);
  capture.texts.push(await metrics.metrics());
  metrics.close();
  await source.stop();
  await target.stop();
}

/** A URL that parses: the Kafka transport connects (no retries) to a closed port and fails. */
async function viaKafkaTransport(url: string, capture: Capture): Promise<void> {
  const transport = KafkaTransport.fromUrl(url, 'leak', {
    logger: capture.logger(),
    debugClient: true,
    retry: { retries: 0 },
    connectionTimeout: 500,
  });
  capture.texts.push(transport.description);
  await transport.connect().then(
    () => expect.fail('connected to a closed port'),
    (error: unknown) => capture.error(error),
  );
  await transport.close();
}

async function captureAll(url: string): Promise<Capture> {
  const capture = new Capture();
  let parses = true;
  try {
    parseKafkaUrl(url);
  } catch (error) {
    parses = false;
    capture.error(error);
  }
  if (parses) {
    await viaKafkaTransport(url, capture);
  } else {
    await viaCreateApp(url, capture);
    await viaCli(url, capture);
    await viaToTopic(url, capture);
  }
  return capture;
}

describe('credentials never leak (property)', function () {
  this.timeout(60_000);

  before(async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    closedPort = (server.address() as AddressInfo).port;
    server.close();
    const neutral = 'NEUTRALxPASSWORD';
    const texts: string[] = [
      ...['@', '/', '?', '#'].map((char) => `password must be URL-encoded: found '${char}'`),
      ...Array.from({ length: 80 }, (_, i) => `bad %-escape at position ${i} of the password`),
    ];
    for (const [name, shape] of Object.entries(SHAPES)) {
      for (const user of ['alice', 'bob', 'svc-orders']) {
        const output = (await captureAll(shape(user, neutral))).all();
        expect(leak(output, neutral), `${name} with a neutral password`).to.equal(undefined);
        texts.push(output.replaceAll(HOST, ''), HOST, String(closedPort));
      }
    }
    baseline = withoutLocations(texts.join('\n'));
  });

  it('in process: createApp + start/send, /metrics, /healthz, the CLI (--broker and $RIVULET_BROKER), toTopic to another app, the Kafka transport', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(SHAPES)),
        users,
        passwords,
        async (shape, user, password) => {
          const url = SHAPES[shape]!(user, password);
          const output = (await captureAll(url)).all();
          const found = leak(output, password);
          expect(found, `${shape}: "${found}" of the password shows in:\n${output}`).to.equal(undefined);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the rivulet command as a child process: send --broker, send with $RIVULET_BROKER, worker with an app reading it', async () => {
    const [password] = fc.sample(passwords, { numRuns: 1, seed: 12 });
    const runs = [
      { args: ['send', 'orders', '{}', '--broker', SHAPES.oneSlash!('alice', password!)], env: {} },
      { args: ['send', 'orders', '{}'], env: { RIVULET_BROKER: SHAPES.rawAt!('alice', password!) } },
      {
        args: ['worker', 'spec/fixtures/env-broker-app.ts', '--port', '0'],
        env: { RIVULET_BROKER: SHAPES.noScheme!('alice', password!) },
      },
    ];
    const outputs = await Promise.all(
      runs.map(async ({ args, env }) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, RIVULET_LOG_LEVEL: 'trace', ...env },
        });
        let output = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        const [code] = (await once(child, 'exit')) as [number | null];
        return { code, output };
      }),
    );
    for (const { code, output } of outputs) {
      expect(code, output).to.equal(2);
      expect(output).to.contain('Bad broker URL');
      expect(leak(output, password!), output).to.equal(undefined);
    }
  });
});
