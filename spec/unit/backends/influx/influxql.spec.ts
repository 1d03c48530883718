import { expect } from 'chai';
import { map } from 'rxjs';
import type { Message } from '../../../../lib/index.js';
import { InfluxQLValueError, influxql, lookupInflux } from '../../../../lib/influx.js';
import { testPipeline } from '../../../../lib/testing/index.js';
import { marbles } from '../../../support/marbles.js';

describe('influxql', () => {
  it('escapes strings, numbers, booleans, Dates (RFC3339) and identifiers; never splices raw text', () => {
    const at = new Date('2024-05-01T09:30:00Z');
    const q = influxql`SELECT last(price) FROM ${influxql.identifier('market"data')} WHERE symbol = ${'ACME'} AND qty > ${10} AND ok = ${true} AND time <= ${at}`;
    expect(q.text).to.equal(
      `SELECT last(price) FROM "market\\"data" WHERE symbol = 'ACME' AND qty > 10 AND ok = true AND time <= '2024-05-01T09:30:00.000Z'`,
    );
  });

  it('neutralises injection attempts: quotes and backslashes stay inside the literal', () => {
    const attacks = [
      `x' OR symbol =~ /.*/ --`,
      `x'; DROP MEASUREMENT marketdata; SELECT '`,
      `x\\' OR 1=1 --`,
      `line\nbreak`,
    ];
    for (const attack of attacks) {
      const { text } = influxql`SELECT * FROM m WHERE symbol = ${attack}`;
      const literal = text.slice('SELECT * FROM m WHERE symbol = '.length);
      // one literal: starts and ends with a quote, and every inner quote is escaped
      expect(literal.startsWith("'") && literal.endsWith("'"), text).to.equal(true);
      const inner = literal.slice(1, -1);
      expect(inner.replace(/\\\\/g, '').replace(/\\'/g, ''), text).to.not.include("'");
      expect(inner, text).to.not.include('\n');
    }
    expect(influxql`WHERE s = ${`a\\'b`}`.text).to.equal(`WHERE s = 'a\\\\\\'b'`);
  });

  it('refuses values it cannot write as a literal', () => {
    for (const bad of [null, undefined, Number.NaN, Infinity, { a: 1 }, new Date('nope')])
      expect(() => influxql`SELECT * FROM m WHERE v = ${bad}`, String(bad)).to.throw(InfluxQLValueError);
  });

  it('splices nested influxql fragments as they are', () => {
    const where = influxql`symbol = ${'A'}`;
    expect(influxql`SELECT * FROM m WHERE ${where} LIMIT ${1}`.text).to.equal(
      `SELECT * FROM m WHERE symbol = 'A' LIMIT 1`,
    );
  });
});

describe('lookupInflux', () => {
  it('runs the escaped query per message and emits the rows with the input', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const queries: string[] = [];
      const influx = {
        query: (q: { text: string }) => {
          queries.push(q.text);
          return cold('-(r|)', { r: [{ time: 1000, last: 12.5 }] });
        },
      };
      const run = testPipeline(
        lookupInflux(
          influx,
          ({ value: o }: Message<{ symbol: string; executedAt: Date }, string | null>) =>
            influxql`SELECT last(price) FROM marketdata WHERE symbol = ${o.symbol} AND time <= ${o.executedAt}`,
        ),
        cold('a|', { a: { symbol: "AC'ME", executedAt: new Date(5000) } }),
      );
      expectObservable(run.output.pipe(map((m) => m.value.result))).toBe('-(a|)', {
        a: [{ time: 1000, last: 12.5 }],
      });
      flush();
      expect(queries).to.deep.equal([
        `SELECT last(price) FROM marketdata WHERE symbol = 'AC\\'ME' AND time <= '1970-01-01T00:00:05.000Z'`,
      ]);
    });
  });
});
