import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Codec } from '../codecs/codec.js';
import { describeCodec, sameCodec } from '../codecs/codec-identity.js';
import { ConfigurationError } from '../core/errors.js';

/** How a topic was declared: its codecs (defaults filled in), settings and where in the code. @internal */
export interface TopicDeclaration {
  readonly valueCodec: Codec<unknown>;
  readonly keyCodec: Codec<unknown>;
  readonly partitions?: number | undefined;
  readonly replicationFactor?: number | undefined;
  readonly config?: Readonly<Record<string, string>> | undefined;
  /** `file:line:column` of the `app.topic()` call, when the stack shows it. */
  readonly site?: string | undefined;
}

/** Frames of rivulet's own topic plumbing, skipped when looking for the caller. */
const OWN_FRAME = /[/\\](?:app[/\\]app|topics[/\\]topic|topics[/\\]topic-declaration)\.[cm]?[jt]s:/;

/**
 * Where `app.topic()` was called from: the first stack frame outside rivulet's topic plumbing, as a path
 * relative to the working directory (`samples/feed.ts:12:20`). @internal
 */
export function declarationSite(): string | undefined {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const frame = frames.find((line) => !OWN_FRAME.test(line));
  const location = frame && /\(?((?:file:\/\/)?[^\s()]+:\d+:\d+)\)?\s*$/.exec(frame)?.[1];
  if (!location) return undefined;
  const path = location.startsWith('file://') ? fileURLToPath(location.replace(/:\d+:\d+$/, '')) : undefined;
  const full = path === undefined ? location : `${path}${/:\d+:\d+$/.exec(location)![0]}`;
  const shown = relative(process.cwd(), full);
  return shown.startsWith(`..${sep}`) || shown.startsWith(sep) ? full : shown;
}

/**
 * Throws a {@link ConfigurationError} naming both declarations unless the second declaration of a topic
 * is the same as the first: the same codecs (see `sameCodec`) and the same partitions, replication factor
 * and config. @internal
 */
export function assertSameDeclaration(name: string, first: TopicDeclaration, second: TopicDeclaration): void {
  const same =
    sameCodec(first.valueCodec, second.valueCodec) &&
    sameCodec(first.keyCodec, second.keyCodec) &&
    first.partitions === second.partitions &&
    first.replicationFactor === second.replicationFactor &&
    sameConfig(first.config, second.config);
  if (same) return;
  throw new ConfigurationError(
    `Topic ${name} is declared twice, differently: ${describe(first)} and ${describe(second)}. ` +
      'Declare it once and share that Topic, or declare it the same way both times',
  );
}

function sameConfig(a: TopicDeclaration['config'], b: TopicDeclaration['config']): boolean {
  const [left, right] = [Object.entries(a ?? {}), Object.entries(b ?? {})];
  return left.length === right.length && left.every(([name, value]) => b?.[name] === value);
}

function describe(declaration: TopicDeclaration): string {
  const settings = [
    `value: ${describeCodec(declaration.valueCodec)}`,
    `key: ${describeCodec(declaration.keyCodec)}`,
    ...(declaration.partitions !== undefined ? [`partitions: ${declaration.partitions}`] : []),
    ...(declaration.replicationFactor !== undefined
      ? [`replicationFactor: ${declaration.replicationFactor}`]
      : []),
    ...(declaration.config && Object.keys(declaration.config).length > 0
      ? [`config: ${JSON.stringify(declaration.config)}`]
      : []),
  ];
  return `{ ${settings.join(', ')} }${declaration.site ? ` at ${declaration.site}` : ''}`;
}
