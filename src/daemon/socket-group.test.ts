import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseGroupId } from './socket-group.js';

describe('parseGroupId', () => {
  const file = 'root:x:0:\ndocker:x:999:alice,bob\n# a comment\nbroken\nnogroup:x:65534:\n';

  it('finds a group by name, or takes a number as it is', () => {
    assert.equal(parseGroupId('docker', file), 999);
    assert.equal(parseGroupId('nogroup', file), 65534);
    assert.equal(parseGroupId('1234', file), 1234);
  });

  it('refuses a name the database does not have', () => {
    assert.throws(() => parseGroupId('nosuch', file), /group nosuch not found/);
    assert.throws(() => parseGroupId('broken', file), /not found/);
  });
});
