import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RootedDir, RootedPathNotFoundError } from './rooted-dir.js';

describe('RootedDir', () => {
  let dir: string;
  let outside: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-rooted-'));
    outside = await mkdtemp(join(tmpdir(), 'berth-outside-'));
    await writeFile(join(outside, 'secret'), 'host');
    await mkdir(join(dir, 'root/etc'), { recursive: true });
    await writeFile(join(dir, 'root/etc/passwd'), 'inside');
    await symlink('/etc', join(dir, 'root/abs'));
    await symlink('../../../../../../..', join(dir, 'root/up'));
    await symlink(outside, join(dir, 'root/host'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('follows symlinks inside the tree as a chroot would, never out of it', async () => {
    const root = await RootedDir.open(join(dir, 'root'));
    try {
      assert.equal((await root.resolve('/abs/passwd', { followLast: false })).path, '/etc/passwd');
      assert.equal((await root.resolve('up/etc/passwd', { followLast: false })).path, '/etc/passwd');
      assert.equal((await root.resolve('/../../etc/passwd', { followLast: false })).path, '/etc/passwd');
      // An absolute symlink to a host directory lands on the tree's own path of that name.
      await assert.rejects(root.resolve('/host/secret', { followLast: false }), RootedPathNotFoundError);
      const last = await root.resolve('/abs', { followLast: false });
      assert.ok(last.stats?.isSymbolicLink());
      assert.equal((await root.resolve('/abs/', { followLast: false })).path, '/etc');
    } finally {
      await root.close();
    }
  });
});
