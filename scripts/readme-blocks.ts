/**
 * The ```ts blocks of a Markdown file, with what is said about each: `<!-- partial -->`
 * on the line before it (it continues the examples before it: the names it uses without declaring come from
 * scripts/readme-context.ts) or `<!-- excerpt: <path> -->` (it is a verbatim part of that file, which
 * the type-check covers). Used by scripts/check-readme.ts and the spec that runs the README's first agent.
 */

/** One ```ts block. */
export interface CodeBlock {
  /** 1-based line of the block's first code line in the Markdown file. */
  readonly line: number;
  /** The `##`/`###` heading the block sits under. */
  readonly heading: string;
  readonly code: string;
  readonly kind: 'complete' | 'partial' | 'excerpt';
  /** For an excerpt: the file it is taken from, relative to the repository. */
  readonly file?: string;
}

const FENCE = /^```(\w*)\s*$/;
const MARKER = /^<!--\s*(partial|excerpt:\s*(\S+))\s*-->\s*$/;

/** The ```ts blocks of `markdown`, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (/^#{1,6} /.test(text)) heading = text.replace(/^#+ /, '');
    const fence = FENCE.exec(text);
    if (!fence) continue;
    const end = lines.findIndex((candidate, j) => j > i && candidate.startsWith('```'));
    if (end < 0) throw new Error(`line ${i + 1}: a code block that never closes`);
    if (fence[1] === 'ts' || fence[1] === 'typescript') {
      let before = i - 1; // the marker, with the blank line Prettier puts after it
      while (before > 0 && lines[before]!.trim() === '') before--;
      const marker = MARKER.exec(lines[before] ?? '');
      const code = lines.slice(i + 1, end).join('\n');
      const base = { line: i + 2, heading, code };
      if (marker?.[2]) blocks.push({ ...base, kind: 'excerpt', file: marker[2] });
      else blocks.push({ ...base, kind: marker ? 'partial' : 'complete' });
    }
    i = end;
  }
  return blocks;
}
