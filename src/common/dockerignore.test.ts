import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DockerignoreMatcher, parseDockerignore } from './dockerignore.js';

describe('dockerignore', () => {
  it('reads patterns as docker does: comments, cleaning, leading slash', () => {
    assert.deepEqual(parseDockerignore('# c\n\n/a/../b/\n !keep \n*.log\n'), ['b', '!keep', '*.log']);
  });

  it('matches with *, ?, **, parent directories and ! exceptions, the last match deciding', () => {
    const m = new DockerignoreMatcher(parseDockerignore('*.log\nbuild\n**/tmp\ndocs/?.md\n!important.log\nnode_modules/**\n'));
    assert.equal(m.isIgnored('a.log'), true);
    assert.equal(m.isIgnored('sub/a.log'), false, '* stays within one element');
    assert.equal(m.isIgnored('important.log'), false);
    assert.equal(m.isIgnored('build/out/x.o'), true, 'a matched directory covers its contents');
    assert.equal(m.isIgnored('a/b/tmp/c'), true);
    assert.equal(m.isIgnored('tmp'), true);
    assert.equal(m.isIgnored('docs/a.md'), true);
    assert.equal(m.isIgnored('docs/ab.md'), false);
    assert.equal(m.isIgnored('node_modules/x/y'), true);
    assert.equal(m.isIgnored('src/main.ts'), false);
  });
});
