import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import {
  BehaviorSubject,
  Subject,
  combineLatest,
  concatMap,
  exhaustMap,
  filter,
  firstValueFrom,
  map,
  switchMap,
  takeUntil,
  timer,
} from 'rxjs';
import { createApp, json } from '../../lib/index.js';
import { waitFor } from '../../lib/testing/index.js';

// The examples of the README's section "Embedding rivulet in an Rx app", run as they are written there.
// Each example is the code between a `README example` marker and the next `README end` marker (the README
// adds the imports); the last test checks that the README shows exactly that code.

const examples = new Map<string, string>();
const source = readFileSync(new URL(import.meta.url), 'utf8');
for (const [, name, body] of source.matchAll(/\/\/ README example: (.+)\n([\s\S]*?)\n\s*\/\/ README end/g)) {
  examples.set(name!, dedent(body!));
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

describe('embedding rivulet in an Rx app (the README examples)', () => {
  const level = process.env.RIVULET_LOG_LEVEL;
  before(() => (process.env.RIVULET_LOG_LEVEL = 'silent'));
  after(() => {
    if (level === undefined) delete process.env.RIVULET_LOG_LEVEL;
    else process.env.RIVULET_LOG_LEVEL = level;
  });

  it('firstValueFrom over a topic: one consumer, stopped once it resolved, its message committed', async () => {
    const printed: number[] = [];
    const console = { log: (price: number) => printed.push(price) };
    // README example: firstValueFrom
    const app = createApp({ id: 'pricing', broker: 'memory://' });
    const quotes = app.topic<{ symbol: string; price: number }>('embed-quotes', { value: json() });
    await quotes.send({ symbol: 'ACME', price: 12.5 });

    // A consumer in the group pricing.embed-quotes.subscriber while the promise waits: it commits the
    // message it handed over and stops; the group's next subscription starts after it.
    const quote = await firstValueFrom(quotes);
    console.log(quote.value.price); // 12.5
    // README end
    expect(printed).to.deep.equal([12.5]);
    expect(app.agents).to.deep.equal([]);
    const transport = await app.transport();
    await waitFor(async () => {
      const [committed] = await transport.committedOffsets('pricing.embed-quotes.subscriber', 'embed-quotes');
      return committed?.offset === 1;
    });
    await app.stop();
  });

  it('switchMap between topics: each switch ends one consumer and resumes the group in the next', async () => {
    const printed: number[] = [];
    const console = { log: (price: number) => printed.push(price) };
    // README example: switchMap
    const app = createApp({ id: 'watch', broker: 'memory://' });
    const selections = app.topic<string>('embed-selections', { value: json() });
    const quotes = app.topic<{ symbol: string; price: number }>('embed-watched-quotes', { value: json() });

    // The prices of the symbol selected last. Each selection ends the consumer of the previous one;
    // the next resumes the group where it committed, so no quote is read twice.
    const subscription = selections
      .pipe(
        switchMap((selected) => quotes.pipe(filter((quote) => quote.value.symbol === selected.value))),
        map((quote) => quote.value.price),
      )
      .subscribe((price) => console.log(price));

    await selections.send('ACME');
    await quotes.sendMany([{ value: { symbol: 'ACME', price: 1 } }, { value: { symbol: 'BOLT', price: 2 } }]);
    // README end
    await waitFor(() => printed.length === 1);
    const transport = await app.transport();
    const committed = async (): Promise<number> =>
      (await transport.committedOffsets('watch.embed-watched-quotes.subscriber', 'embed-watched-quotes'))[0]
        ?.offset ?? 0;
    await waitFor(async () => (await committed()) === 2);
    await selections.send('BOLT');
    await waitFor(() => app.agents.length === 2 && app.agents.every((agent) => agent.state === 'running'));
    await quotes.send({ symbol: 'BOLT', price: 3 });
    await waitFor(() => printed.length === 2);
    expect(printed).to.deep.equal([1, 3]);
    subscription.unsubscribe(); // both consumers stop
    expect(app.agents).to.deep.equal([]);
    await waitFor(async () => (await committed()) === 3);
    await app.stop();
  });

  it('takeUntil(app.stopping$) ends your own streams with the app', async () => {
    // README example: takeUntil
    const app = createApp({ id: 'monitor', broker: 'memory://' });
    const heartbeats = app.topic<{ at: number }>('embed-heartbeats', { value: json() });

    // A heartbeat every second, until app.stop() (or SIGTERM, under app.run()) begins.
    const ended = new Promise<void>((resolve) =>
      timer(0, 1000)
        .pipe(
          exhaustMap(() => heartbeats.send({ at: Date.now() })),
          takeUntil(app.stopping$),
        )
        .subscribe({ complete: resolve }),
    );
    // README end
    const transport = await app.transport();
    await waitFor(async () => (await transport.endOffsets('embed-heartbeats'))[0]?.offset === 1);
    await app.stop();
    await ended;
  });

  it('combineLatest with app state: a topic and a setting of your app', async () => {
    const printed: string[] = [];
    const console = { log: (line: string) => printed.push(line) };
    // README example: combineLatest
    const app = createApp({ id: 'alerts', broker: 'memory://' });
    const payments = app.topic<{ id: string; amount: number }>('embed-payments', { value: json() });
    const threshold$ = new BehaviorSubject(100); // state of your app, e.g. a setting an admin changes

    const subscription = combineLatest([payments, threshold$])
      .pipe(filter(([payment, threshold]) => payment.value.amount > threshold))
      .subscribe(([payment]) => console.log(`large payment ${payment.value.id}`));

    await payments.sendMany([{ value: { id: 'p1', amount: 50 } }, { value: { id: 'p2', amount: 150 } }]);
    // README end
    await waitFor(() => printed.length === 1);
    threshold$.next(200); // the latest payment is checked again: 150 is no longer large
    await payments.send({ id: 'p3', amount: 250 });
    await waitFor(() => printed.length === 2);
    expect(printed).to.deep.equal(['large payment p2', 'large payment p3']);
    subscription.unsubscribe();
    expect(app.agents).to.deep.equal([]);
    await app.stop();
  });

  it('a Subject of your app feeding topic.send', async () => {
    // README example: Subject
    const app = createApp({ id: 'web', broker: 'memory://' });
    const pageViews = app.topic<{ page: string; user: string }>('embed-page-views', { value: json() });
    const views = new Subject<{ page: string; user: string }>(); // events of your app

    // One send at a time, in order; a failed send reaches the error callback.
    views.pipe(concatMap((view) => pageViews.send(view, { key: view.user }))).subscribe({
      error: (error: unknown) => console.error('could not record a page view', error),
    });
    views.next({ page: '/home', user: 'ada' });
    views.next({ page: '/cart', user: 'ada' });
    // README end
    views.complete();
    const transport = await app.transport();
    await waitFor(async () => (await transport.endOffsets('embed-page-views'))[0]?.offset === 2);
    const first = await firstValueFrom(pageViews);
    expect(first.value).to.deep.equal({ page: '/home', user: 'ada' });
    expect(first.key).to.equal('ada');
    await app.stop();
  });

  it('the README shows these examples as they run here', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Embedding rivulet in an Rx app'));
    const blocks = [...section.slice(0, section.indexOf('\n## ', 4)).matchAll(/```ts\n([\s\S]*?)```/g)].map(
      ([, block]) => block!.replace(/^import .*\n/gm, '').trim(),
    );
    expect(blocks).to.deep.equal([...examples.values()].map((example) => example.trim()));
  });
});
