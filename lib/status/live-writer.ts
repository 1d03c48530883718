/**
 * The part of a stream a {@link liveWriter} uses.
 *
 * @example
 * ```ts
 * const blocks: string[] = [];
 * const write = liveWriter({ write: (text) => blocks.push(text) }); // no isTTY: blocks are appended
 * ```
 */
export interface LiveStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * A `write` for {@link statusLine} that redraws the block in place on a terminal (moving the cursor up
 * over the previous block), and simply appends blocks elsewhere (pipes, files, CI logs). Log lines
 * written to the same terminal between two blocks may be overwritten: log to another stream, or at a
 * level that stays quiet, while the status line runs.
 *
 * @example
 * ```ts
 * const status = statusLine(app, { write: liveWriter(process.stderr) });
 * ```
 */
export function liveWriter(stream: LiveStream): (block: string) => void {
  let previousLines = 0;
  return (block) => {
    if (!stream.isTTY) {
      stream.write(block);
      return;
    }
    const up = previousLines > 0 ? `\x1b[${previousLines}A\x1b[0J` : '';
    previousLines = block.split('\n').length - 1;
    stream.write(up + block);
  };
}
