/**
 * `npm run check:docs`: type-checks every ```ts block of README.md against the library, as a user's
 * project would see it ('rivulet', 'rivulet/testing'… resolve to lib/ through tsconfig.json's paths).
 * Each block becomes a module in .cache/readme-blocks/; a block marked `<!-- partial -->` first imports
 * the names it uses without declaring them from scripts/readme-context.ts; a block marked
 * `<!-- excerpt: <path> -->` must appear verbatim in that file (which `npm run typecheck` covers).
 * Errors are reported at their README line. Exits 1 on any error.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { type CodeBlock, codeBlocks } from './readme-blocks.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readme = join(root, 'README.md');
const out = join(root, '.cache', 'readme-blocks');
const context = join(root, 'scripts', 'readme-context.ts');

/** The names scripts/readme-context.ts exports. */
function contextNames(): string[] {
  const source = readFileSync(context, 'utf8');
  const names = new Set<string>();
  for (const [, list] of source.matchAll(/^export (?:type )?\{([^}]*)\}/gm))
    for (const name of list!.split(',')) names.add(name.trim());
  for (const [, name] of source.matchAll(
    /^export (?:declare )?(?:const|function|type|interface|class) (\w+)/gm,
  ))
    names.add(name!);
  names.delete('');
  return [...names];
}

/** Whether `code` declares or imports `name` itself. */
function declares(code: string, name: string): boolean {
  const word = `\\b${name}\\b`;
  return new RegExp(
    `import\\s*(type\\s*)?\\{[^}]*${word}[^}]*\\}|import\\s+${name}\\b|\\b(const|let|var|function|class|type|interface)\\s+${word}`,
  ).test(code);
}

/** The module a block is checked as, and how many lines were put before its code. */
function moduleOf(block: CodeBlock, names: readonly string[]): { text: string; offset: number } {
  if (block.kind !== 'partial') return { text: `${block.code}\nexport {};\n`, offset: 0 };
  const given = names.filter(
    (name) => new RegExp(`\\b${name}\\b`).test(block.code) && !declares(block.code, name),
  );
  const from = relative(out, context).replace(/\.ts$/, '.js');
  const header = given.length > 0 ? `import { ${given.join(', ')} } from '${from}';` : '';
  return { text: `${header}\n${block.code}\nexport {};\n`, offset: 1 };
}

const blocks = codeBlocks(readFileSync(readme, 'utf8'));
const problems: string[] = [];
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const names = contextNames();
const files = new Map<string, { block: CodeBlock; offset: number }>();
for (const block of blocks) {
  if (block.kind === 'excerpt') {
    const text = readFileSync(join(root, block.file!), 'utf8');
    if (!text.includes(block.code))
      problems.push(`README.md:${block.line}: this block is not a verbatim excerpt of ${block.file}`);
    continue;
  }
  const file = join(out, `readme-line-${block.line}.ts`);
  const { text, offset } = moduleOf(block, names);
  writeFileSync(file, text);
  files.set(file, { block, offset });
}

const config = ts.parseJsonConfigFileContent(
  {
    extends: relative(out, join(root, 'tsconfig.json')),
    compilerOptions: { noEmit: true, noUnusedLocals: false },
    include: ['*.ts'],
  },
  ts.sys,
  out,
);
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
  const source = diagnostic.file && files.get(resolve(diagnostic.file.fileName));
  if (!diagnostic.file || !source) {
    const where = diagnostic.file ? `${relative(root, diagnostic.file.fileName)}: ` : '';
    problems.push(`${where}TS${diagnostic.code}: ${message}`);
    continue;
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const at = source.block.line + line - source.offset;
  problems.push(
    `README.md:${at}:${character + 1} (${source.block.heading}): TS${diagnostic.code}: ${message}`,
  );
}

const counts = { complete: 0, partial: 0, excerpt: 0 };
for (const block of blocks) counts[block.kind]++;
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  console.error(`check:docs: ${problems.length} problem(s) in the README's ts blocks`);
  process.exitCode = 1;
} else
  console.log(
    `check:docs: ${blocks.length} ts blocks of README.md type-check (${counts.complete} complete, ${counts.partial} partial, ${counts.excerpt} excerpts)`,
  );
