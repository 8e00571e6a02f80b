import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DetachKeyFilter, parseDetachKeys } from './detach-keys.js';

function run(keys: string, chunks: string[]): { out: string; detached: boolean } {
  const filter = new DetachKeyFilter(parseDetachKeys(keys));
  let out = '';
  let detached = false;
  filter.on('data', (c: Buffer) => (out += c.toString('latin1')));
  filter.on('detach', () => (detached = true));
  for (const chunk of chunks) filter.write(Buffer.from(chunk, 'latin1'));
  return { out, detached };
}

describe('detach keys', () => {
  it('parses docker key syntax', () => {
    assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [0x10, 0x11]);
    assert.deepEqual([...parseDetachKeys('a,ctrl-@,ctrl-\\')], [0x61, 0x00, 0x1c]);
    assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys \(ctrl-1\) provided/);
    assert.throws(() => parseDetachKeys('ab'), /Invalid detach keys/);
  });

  it('passes input through and detaches on the sequence, even split across chunks', () => {
    assert.deepEqual(run('ctrl-p,ctrl-q', ['ls\n', '\x10', '\x11', 'after']), { out: 'ls\n', detached: true });
  });

  it('releases a partial match that breaks off', () => {
    assert.deepEqual(run('ctrl-p,ctrl-q', ['a\x10b', '\x10\x10\x11']), { out: 'a\x10b\x10', detached: true });
    assert.deepEqual(run('x,y', ['xxz']), { out: 'xxz', detached: false });
  });
});
