/**
 * A stand-in for an InfluxDB that points are written to, in process: a `WriteApi` whose `flush()` keeps
 * the queued points as InfluxDB does, one per series and timestamp (a point written again replaces the
 * one it repeats).
 */
import type { Point } from '@influxdata/influxdb-client';
import type { InfluxWriteApiLike } from 'rivulet/influx';

/** A stored point, read back from its line protocol. */
export interface StoredPoint {
  readonly measurement: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, number | string | boolean>>;
  readonly time: number;
}

export class InfluxPointsStandIn implements InfluxWriteApiLike<Point> {
  /** Flushes (write requests) answered. */
  writes = 0;
  readonly #queued: string[] = [];
  readonly #series = new Map<string, StoredPoint>();

  writePoints(points: ArrayLike<Point>): void {
    for (const point of Array.from(points)) {
      const line = point.toLineProtocol();
      if (line !== undefined) this.#queued.push(line);
    }
  }

  async flush(): Promise<void> {
    this.writes++;
    for (const line of this.#queued.splice(0)) {
      const point = parseLine(line);
      this.#series.set(`${line.slice(0, line.indexOf(' '))} ${point.time}`, point);
    }
  }

  /** The points of a measurement, as InfluxDB would keep them. */
  points(measurement: string): StoredPoint[] {
    return [...this.#series.values()].filter((p) => p.measurement === measurement);
  }
}

/** `m,tag=a count=3i,x=1.5 1700000000000` → its parts (no escaped spaces or commas: the sample has none). */
function parseLine(line: string): StoredPoint {
  const [series = '', fieldSet = '', time = ''] = line.split(' ');
  const [measurement = '', ...tagPairs] = series.split(',');
  const tags = Object.fromEntries(tagPairs.map((pair) => pair.split('=') as [string, string]));
  const fields = Object.fromEntries(
    fieldSet.split(',').map((pair) => {
      const [name = '', raw = ''] = pair.split('=');
      if (raw.endsWith('i')) return [name, Number(raw.slice(0, -1))];
      if (raw === 'true' || raw === 'false') return [name, raw === 'true'];
      if (raw.startsWith('"')) return [name, raw.slice(1, -1)];
      return [name, Number(raw)];
    }),
  );
  return { measurement, tags, fields, time: Number(time) };
}
