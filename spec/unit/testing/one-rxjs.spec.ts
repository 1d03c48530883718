import { expect } from 'chai';
import { Observable, of } from 'rxjs';
import { OTHER_RXJS_WARNING } from '../../../lib/testing/one-rxjs.js';
import { testPipeline } from '../../../lib/testing/index.js';

/** Warnings emitted while `act` runs (they come on the next tick). */
async function warningsOf(act: () => void): Promise<string[]> {
  const codes: string[] = [];
  const listener = (warning: Error & { code?: string }): void =>
    void codes.push(warning.code ?? warning.name);
  process.on('warning', listener);
  try {
    act();
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return codes;
}

describe('testPipeline and a second copy of rxjs', () => {
  it('says nothing for an input of its own rxjs, nor for a plain interop observable', async () => {
    const interop = { subscribe: of(1).subscribe.bind(of(1)), pipe: () => undefined };
    const codes = await warningsOf(() => {
      testPipeline((message$) => message$, of(1));
      testPipeline((message$) => message$, interop as unknown as Observable<number>);
    });
    expect(codes).to.deep.equal([]);
  });

  it('warns once, with its code, when the input was made by another copy of rxjs', async () => {
    const other = (): Observable<number> => {
      const source = of(1);
      // what another copy's Observable looks like from here: lift, pipe and subscribe, another class
      return {
        lift: source.lift.bind(source),
        pipe: source.pipe.bind(source),
        subscribe: source.subscribe.bind(source),
      } as unknown as Observable<number>;
    };
    expect(await warningsOf(() => testPipeline((message$) => message$, other()))).to.deep.equal([
      OTHER_RXJS_WARNING,
    ]);
    expect(await warningsOf(() => testPipeline((message$) => message$, other()))).to.deep.equal([]);
  });
});
