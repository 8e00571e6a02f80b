import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareApiVersions, splitVersion, MAX_API_VERSION } from './version.js';

describe('API version prefixes', () => {
  it('splits a versioned path and defaults to the newest version without a prefix', () => {
    assert.deepEqual(splitVersion('/v1.44/containers/json'), { version: '1.44', path: '/containers/json' });
    assert.deepEqual(splitVersion('/containers/json'), { version: MAX_API_VERSION, path: '/containers/json' });
    assert.deepEqual(splitVersion('/v1.24'), { version: '1.24', path: '/' });
  });

  it('refuses versions outside 1.24..1.52 with moby wording', () => {
    assert.throws(() => splitVersion('/v1.23/info'), /client version 1.23 is too old. Minimum supported API version is 1.24/);
    assert.throws(() => splitVersion('/v1.53/info'), /client version 1.53 is too new. Maximum supported API version is 1.52/);
  });

  it('compares versions numerically, not as text', () => {
    assert.ok(compareApiVersions('1.9', '1.24') < 0);
    assert.ok(compareApiVersions('1.44', '1.42') > 0);
    assert.equal(compareApiVersions('1.51', '1.51'), 0);
  });
});
