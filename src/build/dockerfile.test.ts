import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileSyntaxError, jsonForm, parseDockerfile } from './dockerfile.js';

describe('parseDockerfile', () => {
  it('splits meta args and stages, joins continuations, keeps flags and exec forms', () => {
    const parsed = parseDockerfile([
      '# escape=\\',
      'ARG BASE=busybox',
      'FROM --platform=linux/amd64 ${BASE} AS Build',
      'RUN echo a \\',
      '# a comment inside',
      '  && echo b',
      'COPY --chown=1:2 a b /dst/',
      'CMD ["echo", "two words", "q\\"uote"]',
      'FROM scratch',
      'COPY --from=build /x /y',
    ].join('\n'));
    assert.equal(parsed.metaArgs.length, 1);
    assert.equal(parsed.stages.length, 2);
    const [first, second] = parsed.stages;
    assert.equal(first!.name, 'build');
    assert.equal(first!.baseRef, '${BASE}');
    assert.deepEqual(first!.from.flags, { platform: 'linux/amd64' });
    const [run, copy, cmd] = first!.instructions;
    assert.equal(run!.line, 4);
    assert.match(run!.args, /^echo a\s+&& echo b$/);
    assert.deepEqual(copy!.flags, { chown: '1:2' });
    assert.equal(copy!.args, 'a b /dst/');
    assert.equal(copy!.original, 'COPY --chown=1:2 a b /dst/');
    // dockerfile-ast's own JSON reader drops spaces in strings; ours must not.
    assert.deepEqual(cmd!.json, ['echo', 'two words', 'q"uote']);
    assert.equal(second!.name, undefined);
    assert.deepEqual(second!.instructions[0]!.flags, { from: 'build' });
  });

  it('refuses what the classic builder refuses, with the line number', () => {
    const cases: Array<[string, RegExp]> = [
      ['FROM busybox\nFRUN x', /^dockerfile parse error on line 2: unknown instruction: FRUN$/],
      ['FROM a b', /line 1: FROM requires either one or three arguments/],
      ['FROM a AS 1x', /invalid name for build stage/],
      ['FROM busybox\nCOPY onlyone', /line 2: COPY requires at least two arguments, but only one was provided/],
      ['FROM busybox\nRUN --mount=type=cache,target=/x true', /the --mount option requires BuildKit/],
      ['FROM busybox\nCOPY --chmod=755 a b', /the --chmod option requires BuildKit/],
      ['FROM busybox\nSHELL /bin/sh -c', /SHELL requires the arguments to be in JSON form/],
      ['FROM busybox\nONBUILD FROM x', /FROM isn't allowed as an ONBUILD trigger/],
      ['FROM busybox\nHEALTHCHECK WHAT', /Unknown type "WHAT" in HEALTHCHECK/],
      ['FROM busybox\nWORKDIR a b', /WORKDIR requires exactly one argument/],
      ['RUN true', /^no build stage in current context$/],
      ['# only a comment\n', /^file with no instructions$/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseDockerfile(text), (err: unknown) => err instanceof DockerfileSyntaxError && message.test(err.message), text);
    }
  });

  it('takes the exec form only for a JSON array of strings', () => {
    assert.deepEqual(jsonForm('["a", "b c"]'), ['a', 'b c']);
    assert.equal(jsonForm('[a, b]'), undefined);
    assert.equal(jsonForm('[1, 2]'), undefined);
    assert.equal(jsonForm('echo [x]'), undefined);
  });
});
