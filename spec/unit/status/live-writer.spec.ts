import { expect } from 'chai';
import { liveWriter } from '../../../lib/status/live-writer.js';

describe('liveWriter', () => {
  it('redraws the previous block in place on a terminal', () => {
    const written: string[] = [];
    const write = liveWriter({ isTTY: true, write: (text: string) => written.push(text) });
    write('a\nb\n');
    write('c\nd\n');
    expect(written).to.deep.equal(['a\nb\n', '\x1b[2A\x1b[0Jc\nd\n']);
  });

  it('appends blocks when the stream is not a terminal', () => {
    const written: string[] = [];
    const write = liveWriter({ write: (text: string) => written.push(text) });
    write('a\n');
    write('b\n');
    expect(written).to.deep.equal(['a\n', 'b\n']);
  });
});
