import type { Page } from 'puppeteer-core';

/** A partition row as the live page shows it. */
export interface ShownPartition {
  readonly partition: number;
  readonly committed: number | null;
  readonly inFlight: number | null;
  readonly end: number | null;
  readonly lag: number | null;
  /** The row is highlighted (class `stuck`) and tagged "stuck". */
  readonly stuck: boolean;
}

/** An agent card as the live page shows it. */
export interface ShownAgent {
  readonly name: string;
  readonly state: string;
  readonly received: number | null;
  readonly settled: number | null;
  readonly inFlight: number | null;
  readonly lag: number | null;
  readonly retried: number | null;
  readonly deadLettered: number | null;
  readonly held: number | null;
  readonly restarts: number | null;
  readonly partitions: readonly ShownPartition[];
  /** Points drawn in each sparkline (throughput, lag, in flight). */
  readonly sparkPoints: readonly number[];
}

/** A sink row as the live page shows it. */
export interface ShownSink {
  readonly name: string;
  readonly agent: string;
  readonly state: string;
  readonly failedAttempts: number | null;
  readonly lastError: string;
  readonly highlighted: boolean;
}

/** What the live page shows, read from its visible text. */
export interface ShownPage {
  /** The sample time of the snapshot on screen (ms since the epoch). */
  readonly at: number;
  readonly agents: readonly ShownAgent[];
  readonly sinks: readonly ShownSink[];
}

// Runs in the browser (plain JavaScript: the project's TypeScript has no DOM types). Reads the numbers
// from the text the user sees ("1,234", "–" for unknown), not from the data behind it.
const READ_PAGE = `(() => {
  const number = (text) => {
    const n = Number(String(text).trim().replace(/,/g, ''));
    return Number.isFinite(n) && String(text).trim() !== '' ? n : null;
  };
  const text = (root, field) => {
    const node = root.querySelector('[data-field="' + field + '"]');
    return node ? node.textContent : '';
  };
  const snapshot = document.querySelector('[data-snapshot-at]');
  return {
    at: snapshot ? Number(snapshot.getAttribute('data-snapshot-at')) : 0,
    agents: [...document.querySelectorAll('[data-agent]')].map((card) => ({
      name: text(card, 'name'),
      state: text(card, 'state'),
      received: number(text(card, 'received')),
      settled: number(text(card, 'settled')),
      inFlight: number(text(card, 'inFlight')),
      lag: number(text(card, 'lag')),
      retried: number(text(card, 'retried')),
      deadLettered: number(text(card, 'deadLettered')),
      held: number(text(card, 'held')),
      restarts: number(text(card, 'restarts')),
      partitions: [...card.querySelectorAll('tr[data-partition]')].map((row) => {
        const first = row.querySelector('[data-field="partition"]');
        const tag = first.querySelector('.tag');
        const label = tag ? first.textContent.slice(0, -tag.textContent.length) : first.textContent;
        return {
          partition: number(label.replace(/^p/, '')),
          committed: number(text(row, 'committed')),
          inFlight: number(text(row, 'inFlight')),
          end: number(text(row, 'end')),
          lag: number(text(row, 'lag')),
          stuck: row.classList.contains('stuck') && tag !== null && tag.textContent === 'stuck',
        };
      }),
      sparkPoints: [...card.querySelectorAll('[data-series] svg')].map((svg) =>
        [...svg.querySelectorAll('polyline')].reduce(
          (sum, line) => sum + line.getAttribute('points').trim().split(/\\s+/).length, 0)),
    })),
    sinks: [...document.querySelectorAll('tr[data-sink]')].map((row) => ({
      name: text(row, 'name'),
      agent: text(row, 'agent'),
      state: text(row, 'state'),
      failedAttempts: number(text(row, 'failedAttempts')),
      lastError: text(row, 'lastError'),
      highlighted: row.classList.contains('failing'),
    })),
  };
})()`;

/** Reads what the live page in `page` shows right now. */
export async function readPage(page: Page): Promise<ShownPage> {
  return (await page.evaluate(READ_PAGE)) as ShownPage;
}
