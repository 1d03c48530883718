import { expect } from 'chai';
import { ResultBindings } from '../../../lib/windows/result-bindings.js';

describe('ResultBindings: which subscription results go to', () => {
  it('the first running; when it ends, the next still running (served again); none left: results wait', () => {
    const log: string[] = [];
    const bindings = new ResultBindings<string>({
      serve: (b) => log.push(`serve ${b}`),
      unserved: () => log.push('unserved'),
    });
    bindings.bind('a');
    bindings.bind('b'); // a still runs: results keep going there
    expect(bindings.current).to.equal('a');
    bindings.unbind('b'); // not the current one: nothing changes
    bindings.bind('c');
    bindings.unbind('a');
    expect(bindings.current).to.equal('c');
    bindings.unbind('c');
    expect(bindings.current).to.equal(undefined);
    expect(log).to.deep.equal(['serve a', 'unserved', 'serve c', 'unserved']);
  });
});
