import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerAbsPath } from './container-archive.js';

describe('containerAbsPath', () => {
  it('makes paths absolute and keeps a trailing / or /.', () => {
    assert.equal(containerAbsPath('etc/hostname'), '/etc/hostname');
    assert.equal(containerAbsPath('/tmp/../etc/'), '/etc/');
    assert.equal(containerAbsPath('/tmp/dir/.'), '/tmp/dir/.');
    assert.equal(containerAbsPath('/'), '/');
  });
});
