import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chompHeredoc, heredocRunCommand, heredocWord, splitHeredocs } from './heredocs.js';
import { DockerfileSyntaxError, parseDockerfile } from './dockerfile.js';
import { expandHeredocBody } from './shell-words.js';

describe('here-documents', () => {
  it('reads marker words as BuildKit does', () => {
    assert.deepEqual(heredocWord('<<EOF'), { name: 'EOF', chomp: false, expand: true });
    assert.deepEqual(heredocWord('<<-EOF'), { name: 'EOF', chomp: true, expand: true });
    assert.deepEqual(heredocWord('<<"EOF"'), { name: 'EOF', chomp: false, expand: false });
    assert.deepEqual(heredocWord("3<<'a.txt'"), { name: 'a.txt', chomp: false, expand: false });
    assert.equal(heredocWord('<<EOF bash'), undefined);
    assert.equal(heredocWord('<<'), undefined);
    assert.equal(heredocWord('cat<<EOF'), undefined);
  });

  it('cuts bodies out, keeping line numbers, and leaves exec forms and other instructions alone', () => {
    const text = [
      'FROM busybox',
      'RUN <<EOF',
      'echo one',
      '# not a comment',
      'FROM not-an-instruction',
      'EOF',
      'RUN ["sh", "-c", "cat <<EOF"]',
      'RUN << EOF2 sh',
      'two',
      'EOF2',
      'COPY <<a.txt <<"b.txt" /dir/',
      'A $X',
      'a.txt',
      '\tB',
      'b.txt',
      'RUN <<-END cat',
      '\tchomped',
      '\tEND',
      'LABEL x=y',
    ].join('\n');
    const split = splitHeredocs(text, '\\');
    assert.equal(split.text.split('\n').length, text.split('\n').length);
    assert.deepEqual([...split.byLine.keys()], [2, 8, 11, 16]);
    assert.deepEqual(split.byLine.get(2), [{ name: 'EOF', chomp: false, expand: true, content: 'echo one\n# not a comment\nFROM not-an-instruction\n' }]);
    assert.equal(split.byLine.get(8)![0]!.content, 'two\n');
    assert.deepEqual(split.byLine.get(11)!.map((d) => [d.name, d.expand, d.content]), [['a.txt', true, 'A $X\n'], ['b.txt', false, '\tB\n']]);
    assert.deepEqual(split.byLine.get(16), [{ name: 'END', chomp: true, expand: true, content: '\tchomped\n' }]);

    const parsed = parseDockerfile(text);
    const [run, json, spaced, copy, chomped, label] = parsed.stages[0]!.instructions;
    assert.equal(run!.original, 'RUN <<EOF');
    assert.equal(run!.heredocs.length, 1);
    assert.deepEqual(json!.json, ['sh', '-c', 'cat <<EOF']);
    assert.equal(json!.heredocs.length, 0);
    assert.equal(spaced!.args, '<< EOF2 sh');
    assert.equal(copy!.original, 'COPY <<a.txt <<"b.txt" /dir/');
    assert.equal(chomped!.line, 16);
    assert.equal(label!.line, 19);
  });

  it('decides what a RUN with documents runs', () => {
    const doc = (name: string, content: string, chomp = false) => ({ name, content, chomp, expand: true });
    assert.deepEqual(heredocRunCommand('<<EOF', [doc('EOF', 'echo a\necho b\n')]), { command: 'echo a\necho b\n' });
    assert.deepEqual(heredocRunCommand('<<-EOF', [doc('EOF', '\techo a\n', true)]), { command: 'echo a\n' });
    assert.deepEqual(heredocRunCommand('<<EOF', [doc('EOF', '#!/bin/sh\necho a\n')]), { command: '/dev/pipes/EOF', script: { name: 'EOF', data: '#!/bin/sh\necho a\n' } });
    assert.deepEqual(heredocRunCommand('cat <<A <<B', [doc('A', 'a\n'), doc('B', 'b\n')]), { command: 'cat <<A <<B\na\nA\nb\nB' });
    assert.equal(chompHeredoc('\t\ta\n\tb\nc\t\n'), 'a\nb\nc\t\n');
  });

  it('expands a COPY document\'s body with quotes kept', () => {
    const env = new Map([['X', 'ex']]);
    assert.equal(expandHeredocBody('a $X "${X}" \'$X\' \\$X ${NOPE}\n', env), 'a ex "ex" \'ex\' $X \n');
  });

  it('refuses an unterminated document and a document as COPY\'s destination', () => {
    assert.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\necho x\n'), (err: unknown) => err instanceof DockerfileSyntaxError && err.message === 'dockerfile parse error on line 2: unterminated heredoc');
    assert.throws(() => parseDockerfile('FROM busybox\nCOPY a <<EOF\nx\nEOF\n'), (err: unknown) => err instanceof DockerfileSyntaxError && /line 2: COPY cannot accept a heredoc as a destination/.test(err.message));
  });
});
