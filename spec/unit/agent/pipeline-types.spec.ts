import { join } from 'node:path';
import { expect } from 'chai';
import { bufferTime, filter, map, mergeMap, of } from 'rxjs';
import ts from 'typescript';
import { type Pipeline, createApp, filterValue, json, mapValue } from 'rivulet';

/** The declarations the compiler checks (`npm run typecheck`): never run. */
export function declarations(): void {
  const app = createApp({ id: 'types', broker: 'memory://pipeline-types' });
  const orders = app.topic('orders', { value: json<{ quantity: number }>() });
  // ends in messages, or arrays of them: fine
  app.agent('map-value', orders, (order$) => order$.pipe(mapValue((order) => order.quantity)));
  app.agent('batches', orders, (order$) => order$.pipe(bufferTime(50)));
  app.agent('filter-value', orders, (order$) => order$.pipe(filterValue((order) => order.quantity > 0)));
  app.agent('as-is', orders, (order$) => order$);
  const typed: Pipeline<{ quantity: number }, string> = (order$) => order$.pipe(bufferTime(5));
  app.agent('typed', orders, typed);
  // @ts-expect-error plain values: "an agent's pipeline must end in Message objects: use mapValue instead of map"
  app.agent('map', orders, (order$) => order$.pipe(map((m) => m.value.quantity)));
  // @ts-expect-error some messages, some values
  app.agent('mixed', orders, (order$) => order$.pipe(mergeMap((m) => of(m, m.value))));
  // a plain filter type-checks (it still passes messages): the agent reports its drops at run time
  app.agent('filter', orders, (order$) => order$.pipe(filter((m) => m.value.quantity > 0)));
}

describe("an agent pipeline's type (issue 16 finding 7)", () => {
  it("a pipeline ending in plain values is a compile error that names messages and mapValue, not RxJS's 'operator'", function () {
    this.timeout(60_000); // one small program, with the library it imports
    const file = join(process.cwd(), 'spec', 'unit', 'agent', '__pipeline-types-probe.ts');
    const code = [
      "import { map } from 'rxjs';",
      "import { createApp, json } from 'rivulet';",
      "const app = createApp({ id: 'probe', broker: 'memory://probe' });",
      "const orders = app.topic('orders', { value: json<{ quantity: number }>() });",
      "app.agent('totals', orders, (order$) => order$.pipe(map((m) => m.value.quantity)));",
    ].join('\n');
    const config = ts.getParsedCommandLineOfConfigFile(
      'tsconfig.json',
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => undefined,
      },
    )!;
    const host = ts.createCompilerHost(config.options);
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => (name === file ? code : readFile(name));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === file || fileExists(name);
    const program = ts.createProgram({ rootNames: [file], options: config.options, host });
    const diagnostics = program.getSemanticDiagnostics(program.getSourceFile(file));
    const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(messages).to.have.length(1);
    expect(messages[0]).to.include(
      "an agent's pipeline must end in Message objects: use mapValue instead of map",
    );
    expect(messages[0]).to.not.include("Types of property 'operator' are incompatible");
  });
});
