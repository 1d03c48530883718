import { RivuletError } from '../../core/errors.js';

/**
 * An InfluxQL query built by the {@link influxql} template: its text holds only literals and
 * identifiers escaped by rivulet.
 *
 * @example
 * ```ts
 * const query: InfluxQLQuery = influxql`SELECT last(price) FROM marketdata WHERE symbol = ${symbol}`;
 * query.text; // SELECT last(price) FROM marketdata WHERE symbol = 'ACME'
 * ```
 */
export class InfluxQLQuery {
  /** @internal Use the {@link influxql} template. */
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/**
 * A name to splice as a double-quoted InfluxQL identifier (measurement, field, tag key).
 *
 * @example
 * ```ts
 * influxql`SELECT last(${influxql.identifier(field)}) FROM marketdata`;
 * ```
 */
export class InfluxQLIdentifier {
  /** @internal Use `influxql.identifier()`. */
  constructor(readonly name: string) {}
}

/**
 * A value the {@link influxql} template cannot turn into a literal (null, NaN, an object…).
 *
 * @example
 * ```ts
 * influxql`SELECT * FROM m WHERE v = ${Number.NaN}`; // throws InfluxQLValueError
 * ```
 */
export class InfluxQLValueError extends RivuletError {
  override readonly retriable = false;
}

const escapeString = (value: string): string =>
  `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;

const escapeIdentifier = (name: string): string =>
  `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** The InfluxQL text for one interpolated value. */
function literal(value: unknown): string {
  if (value instanceof InfluxQLQuery) return value.text;
  if (value instanceof InfluxQLIdentifier) return escapeIdentifier(value.name);
  if (typeof value === 'string') return escapeString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InfluxQLValueError(`Not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InfluxQLValueError('Invalid Date');
    return escapeString(value.toISOString());
  }
  throw new InfluxQLValueError(`Cannot use ${value === null ? 'null' : typeof value} in an InfluxQL query`);
}

/**
 * Builds an InfluxQL query, escaping every interpolated value instead of splicing its text: strings
 * become single-quoted literals, numbers and booleans stay literals, Dates become RFC3339 string
 * literals (which InfluxQL compares with `time`), `influxql.identifier(name)` becomes a double-quoted
 * identifier, and nested `influxql` queries are spliced as they are. Anything else throws
 * {@link InfluxQLValueError}.
 *
 * @example
 * ```ts
 * influxql`SELECT last(price) FROM marketdata WHERE symbol = ${o.symbol} AND time <= ${o.executedAt}`;
 * // SELECT last(price) FROM marketdata WHERE symbol = 'ACME' AND time <= '2024-05-01T09:30:00.000Z'
 * ```
 */
export function influxql(strings: TemplateStringsArray, ...values: readonly unknown[]): InfluxQLQuery {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += literal(value) + (strings[i + 1] ?? '');
  });
  return new InfluxQLQuery(text);
}

/**
 * Marks a name to be spliced as an identifier, e.g. a measurement chosen at run time.
 *
 * @example
 * ```ts
 * influxql`SELECT * FROM ${influxql.identifier(measurement)} LIMIT 1`;
 * ```
 */
influxql.identifier = (name: string): InfluxQLIdentifier => new InfluxQLIdentifier(name);
