import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envMap, processWord, processWords, rawWords } from './shell-words.js';

describe('shell words', () => {
  const env = envMap(['A=1', 'EMPTY=', 'SP=two words']);

  it('expands variables with docker\'s modifiers', () => {
    assert.equal(processWord('$A-${A}-${NOPE:-d}-${EMPTY:-e}-${EMPTY-f}-${A:+set}-${NOPE+x}', env), '1-1-d-e--set-');
    assert.equal(processWord('$', env), '$');
    assert.throws(() => processWord('${NOPE:?needed}', env), /NOPE: needed/);
  });

  it('removes quotes and honours escapes as docker does', () => {
    assert.equal(processWord(`'$A' "$A \\$A \\"q\\"" \\$A`, env), '$A 1 $A "q" $A');
    assert.equal(processWord('a`$A', env, '`'), 'a$A');
    assert.throws(() => processWord('"open', env), /double-quote/);
  });

  it('splits words at unquoted whitespace only', () => {
    assert.deepEqual(processWords('a "b c" $SP', env), ['a', 'b c', 'two', 'words']);
    assert.deepEqual(rawWords('k="a b" x=\'c d\' e\\ f'), ['k="a b"', "x='c d'", 'e\\ f']);
  });
});
