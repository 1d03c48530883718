import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Table } from '../tables/table.js';

/**
 * What the table routes read of a table: a {@link Table}, or one from another copy of rivulet.
 * @internal
 */
export type ServedTable = Pick<
  Table<unknown, unknown>,
  'name' | 'keyCodec' | 'get' | 'partitionOf' | 'keys' | 'ownedPartitions' | 'stats'
>;

/** The largest page `GET /tables/<name>?limit=` serves. */
export const MAX_KEY_PAGE = 1000;
const DEFAULT_KEY_PAGE = 100;

type Answer = { readonly status: number; readonly body: unknown; readonly headers?: Record<string, string> };

/**
 * The tables of an app, if it declares any (an app from an older copy of rivulet has none).
 *
 * @example
 * ```ts
 * const tables = tablesOf(app); // ReadonlyMap<string, ServedTable>
 * ```
 */
export function tablesOf(app: object): ReadonlyMap<string, ServedTable> {
  const tables = (app as { readonly tables?: unknown }).tables;
  return tables instanceof Map ? (tables as ReadonlyMap<string, ServedTable>) : new Map();
}

/**
 * Answers `GET /tables/<name>/<key>` and `GET /tables/<name>` (JSON) for the worker's HTTP server;
 * returns false (and does nothing) for other paths.
 *
 * - `/tables/<name>/<key>`: 200 `{ table, key, partition, value }` for a key this worker owns (an absent
 *   key reads as the table's default; without one, 404 with `found: false`); 421 `{ table, key,
 *   partition, owned: false }` when another worker owns the key's partition; 503 with `{ read, toRead }`
 *   while the partition is restored. The key segment is percent-decoded and its UTF-8 bytes decoded by
 *   the table's key codec (a JSON key is its JSON text).
 * - `/tables/<name>?partition=<p>&after=<key>&limit=<n>`: `{ table, partitions: [{ partition, keys,
 *   next? }] }`, one page per owned partition (or of `partition`); pass `next` as `after` for the next.
 * - An unknown table: 404.
 *
 * @example
 * ```ts
 * http.createServer(async (req, res) => {
 *   if (!(await tableRoutes(app.tables, req, res))) res.writeHead(404).end();
 * });
 * ```
 */
export async function tableRoutes(
  tables: ReadonlyMap<string, ServedTable>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const url = new URL(request.url ?? '/', 'http://worker');
  const segments = url.pathname.split('/').slice(1);
  if (segments[0] !== 'tables' || segments.length < 2 || segments.length > 3) return false;
  let answer: Answer;
  try {
    const name = decodeURIComponent(segments[1]!);
    const table = tables.get(name);
    if (!table)
      answer = { status: 404, body: { table: name, error: `no table ${name}`, tables: [...tables.keys()] } };
    else if (segments.length === 3 && segments[2] !== '')
      answer = await readKey(table, decodeURIComponent(segments[2]!));
    else answer = await keyPages(table, url.searchParams);
  } catch (error) {
    answer = { status: error instanceof URIError ? 400 : 500, body: { error: String(error) } };
  }
  response
    .writeHead(answer.status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...answer.headers,
    })
    .end(request.method === 'HEAD' ? undefined : JSON.stringify(answer.body));
  return true;
}

async function readKey(table: ServedTable, text: string): Promise<Answer> {
  const parsed = await parseKey(table, text);
  if ('error' in parsed) return { status: 400, body: { table: table.name, key: text, error: parsed.error } };
  const key = parsed.key;
  const head = { table: table.name, key: keyToJson(table, key) };
  const partition = table.partitionOf(key);
  try {
    const value = table.get(key);
    if (value === undefined) return { status: 404, body: { ...head, partition, owned: true, found: false } };
    return { status: 200, body: { ...head, partition, value: valueToJson(value) } };
  } catch (error) {
    const reading = readError(error);
    if (reading?.kind === 'not-owned')
      return { status: 421, body: { ...head, partition: reading.partition ?? null, owned: false } };
    if (reading?.kind === 'recovering') {
      const progress = table.stats().partitions.find((p) => p.partition === reading.partition);
      return {
        status: 503,
        headers: { 'retry-after': '1' },
        body: {
          ...head,
          partition: reading.partition,
          owned: true,
          recovering: true,
          read: progress?.read ?? 0,
          toRead: progress?.toRead ?? 0,
        },
      };
    }
    throw error;
  }
}

async function keyPages(table: ServedTable, query: URLSearchParams): Promise<Answer> {
  const bad = (error: string): Answer => ({ status: 400, body: { table: table.name, error } });
  const limitText = query.get('limit');
  const limit = limitText === null ? DEFAULT_KEY_PAGE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_KEY_PAGE)
    return bad(`limit must be an integer from 1 to ${MAX_KEY_PAGE}, not ${limitText}`);
  let after: unknown;
  const afterText = query.get('after');
  if (afterText !== null) {
    const parsed = await parseKey(table, afterText);
    if ('error' in parsed) return bad(`after: ${parsed.error}`);
    after = parsed.key;
  }
  const owned = table.ownedPartitions();
  let partitions = owned;
  const partitionText = query.get('partition');
  if (partitionText !== null) {
    const partition = Number(partitionText);
    if (!/^\d+$/.test(partitionText) || !Number.isSafeInteger(partition))
      return bad(`partition must be a partition number, not ${partitionText}`);
    if (!owned.includes(partition))
      return { status: 421, body: { table: table.name, partition, owned: false, ownedPartitions: owned } };
    partitions = [partition];
  } else if (after !== undefined) {
    return bad('after needs partition');
  }
  const pages = [];
  for (const partition of partitions) {
    try {
      const page = table.keys(partition, { limit, ...(after !== undefined ? { after } : {}) });
      pages.push({
        partition,
        keys: page.keys.map((key) => keyToJson(table, key)),
        ...(page.next !== undefined ? { next: keyToJson(table, page.next) } : {}),
      });
    } catch (error) {
      const reading = readError(error);
      if (reading?.kind !== 'recovering') throw error;
      const progress = table.stats().partitions.find((p) => p.partition === partition);
      pages.push({ partition, recovering: true, read: progress?.read ?? 0, toRead: progress?.toRead ?? 0 });
    }
  }
  return { status: 200, body: { table: table.name, partitions: pages } };
}

async function parseKey(table: ServedTable, text: string): Promise<{ key: unknown } | { error: string }> {
  try {
    return { key: await table.keyCodec.decode(Buffer.from(text, 'utf8')) };
  } catch (error) {
    return {
      error: `not a key of codec ${table.keyCodec.name}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** A key as JSON: a string key as itself; another as the JSON its codec writes (else its UTF-8 text). */
function keyToJson(table: ServedTable, key: unknown): unknown {
  if (typeof key === 'string') return key;
  const text = table.keyCodec.encode(key).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function valueToJson(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}

/** The table read errors by name, so that a table of another copy of rivulet answers the same. */
function readError(
  error: unknown,
):
  | { kind: 'not-owned'; partition: number | undefined }
  | { kind: 'recovering'; partition: number }
  | undefined {
  if (!(error instanceof Error)) return undefined;
  const { partition } = error as Error & { partition?: unknown };
  if (error.name === 'PartitionNotOwnedError')
    return { kind: 'not-owned', partition: typeof partition === 'number' ? partition : undefined };
  if (error.name === 'PartitionRecoveringError' && typeof partition === 'number')
    return { kind: 'recovering', partition };
  return undefined;
}
