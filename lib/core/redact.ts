/**
 * Masking of credentials in text rivulet builds (error messages, log lines, dead-letter headers,
 * `/healthz`). Two kinds of secret are masked:
 *
 * - anything that looks like the userinfo of a URL: for a URL (`kafka://`, `kafka:/`, `kafka:`,
 *   `memory:`, or any `scheme://`) everything from after the scheme up to the last `@` that precedes a
 *   host, whatever it holds (`@`, `:`, `/`, `%`, `?`); the URL ends at the first blank, unless no such
 *   `@` comes before it, and then at the end of the line (a password with a space); without a scheme,
 *   the run of non-blank characters before the last `@` of the run that precedes a host;
 * - the secret strings given explicitly (SASL passwords, TLS passphrases), raw and URL-encoded.
 *
 * The functions are pure and never throw.
 * @module
 */

/** What a masked secret is replaced with. */
export const MASK = '***';

/** Shortest explicit secret that is masked: shorter strings would mask ordinary words. */
const MIN_SECRET_LENGTH = 3;

/** A host after an `@`: an IPv6 literal, or a name or IPv4 address, with an optional port. */
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::\d{1,5})?/i;

/**
 * Where a URL begins: `kafka:` or `memory:` with any number of slashes (a mistyped broker URL), or any
 * `scheme://`.
 */
const SCHEME = /\b(?:kafka|memory):\/*|\b[a-z][a-z0-9+.-]*:\/\//gi;

/** rivulet's own record positions, `topic[partition]@offset`: an `@` that is not a credential's. */
const POSITION_BEFORE = /\[\d+\]$/;
const POSITION_AFTER = /^\d+(?![\d.]|:\d)/;

/**
 * The text with every URL userinfo and every given secret masked.
 *
 * @example
 * ```ts
 * redactText('Cannot reach kafka:/alice:p@ss/w%rd@k1:9092'); // 'Cannot reach kafka:/***@k1:9092'
 * redactText('auth failed for hunter22', ['hunter22']); // 'auth failed for ***'
 * ```
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  const pattern = secretPattern(secrets);
  const masked = pattern ? text.replace(pattern, MASK) : text;
  return masked.split('\n').map(redactLine).join('\n');
}

function redactLine(line: string): string {
  const ats = hostAts(line);
  if (ats.length === 0) return line;
  const masked: [number, number][] = [];
  const schemes = [...line.matchAll(SCHEME)].map((match) => match.index + match[0].length);
  schemes.forEach((start, i) => {
    const end = schemes[i + 1] ?? line.length;
    const inRange = ats.filter((at) => at >= start && at < end);
    // The last @ before which the URL has no blank; else (a password with a space) the last one at all.
    const last = inRange.filter((at) => !/\s/.test(line.slice(start, at))).pop() ?? inRange.pop();
    if (last !== undefined) masked.push([start, last]);
  });
  for (const at of [...ats].reverse()) {
    // From the last @ back: a run of non-blank text before it holds any earlier @ of the same run.
    if (masked.some(([from, to]) => at >= from && at <= to)) continue;
    let start = at;
    while (start > 0 && !/\s/.test(line[start - 1]!)) start--;
    if (start < at) masked.push([start, at]);
  }
  masked.sort((a, b) => b[0] - a[0]);
  let result = line;
  for (const [from, to] of masked) result = result.slice(0, from) + MASK + result.slice(to);
  return result;
}

/** Positions of the `@`s followed by something that looks like a host. */
function hostAts(line: string): number[] {
  const ats: number[] = [];
  for (let at = line.indexOf('@'); at >= 0; at = line.indexOf('@', at + 1)) {
    const before = line.slice(0, at);
    const after = line.slice(at + 1);
    const position = POSITION_BEFORE.test(before) && POSITION_AFTER.test(after);
    if (at > 0 && !position && HOST.test(after)) ats.push(at);
  }
  return ats;
}

function secretPattern(secrets: readonly string[]): RegExp | undefined {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return undefined;
  const alternatives = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(alternatives.join('|'), 'g');
}

/**
 * An error reduced to what may be shown: its class name, its message and stack with credentials
 * masked, and its cause's, recursively (a few levels).
 *
 * @example
 * ```ts
 * const { name, message } = redactError(error, [saslPassword]);
 * response.end(JSON.stringify({ error: name, message }));
 * ```
 */
export interface RedactedError {
  /** The error's class name (`ConfigurationError`, `KafkaJSSASLAuthenticationError`…), or its type. */
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly cause?: RedactedError;
}

/**
 * Reduces any thrown value to a {@link RedactedError}: credentials masked in message, stack and causes.
 *
 * @example
 * ```ts
 * logger.warn({ error: redactError(error).message }, 'write failed');
 * ```
 */
export function redactError(error: unknown, secrets: readonly string[] = [], depth = 0): RedactedError {
  if (!(error instanceof Error)) {
    return { name: error === null ? 'null' : typeof error, message: redactText(safeString(error), secrets) };
  }
  const name = safeString(error.name) || error.constructor.name || 'Error';
  const cause: unknown = (error as { cause?: unknown }).cause;
  return {
    name,
    message: redactText(safeString(error.message), secrets),
    ...(typeof error.stack === 'string' ? { stack: redactText(error.stack, secrets) } : {}),
    ...(cause !== undefined && depth < 4 ? { cause: redactError(cause, secrets, depth + 1) } : {}),
  };
}

/**
 * One line for an error, `Name: message`, with credentials masked.
 *
 * @example
 * ```ts
 * errorSummary(new ConfigurationError('kafka:/u:pw@k1:9092 is wrong')); // 'ConfigurationError: kafka:/***@k1:9092 is wrong'
 * ```
 */
export function errorSummary(error: unknown, secrets: readonly string[] = []): string {
  const { name, message } = redactError(error, secrets);
  return message ? `${name}: ${message}` : name;
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : String(value);
  } catch {
    return '[unprintable]';
  }
}
