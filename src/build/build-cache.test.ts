import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildCache, cacheKey } from './build-cache.js';

describe('BuildCache', () => {
  it('keys a step by parent, instruction, resulting config and content sum', () => {
    const base = { parentId: 'sha256:a', createdBy: '/bin/sh -c make', config: { Env: ['A=1'] } };
    assert.equal(cacheKey(base), cacheKey({ ...base }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, parentId: 'sha256:b' }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, createdBy: '/bin/sh -c make all' }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, config: { Env: ['A=2'] } }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, contentSum: 'abc' }));
  });

  it('keeps entries across instances (daemon restarts) and forgets on request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-build-cache-'));
    try {
      const cache = new BuildCache(dir);
      assert.equal(await cache.lookup('k'), undefined);
      await Promise.all([cache.record('k', 'sha256:1'), cache.record('j', 'sha256:2')]);
      const reopened = new BuildCache(dir);
      assert.equal(await reopened.lookup('k'), 'sha256:1');
      assert.equal(await reopened.lookup('j'), 'sha256:2');
      await reopened.forget('k');
      assert.equal(await new BuildCache(dir).lookup('k'), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
