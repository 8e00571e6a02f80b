import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../sys/index.js';
import { readImageFile } from './image-files.js';

const isRoot = process.getuid?.() === 0;

test('readImageFile takes the topmost layer, honours whiteouts and follows symlinks inside the image', { skip: !isRoot && 'whiteouts are device nodes: needs root' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-image-files-'));
  try {
    const [top, middle, bottom] = ['top', 'middle', 'bottom'].map((name) => join(dir, name)) as [string, string, string];
    for (const layer of [top, middle, bottom]) await mkdir(join(layer, 'etc'), { recursive: true });
    await writeFile(join(bottom, 'etc', 'passwd'), 'bottom\n');
    await writeFile(join(middle, 'etc', 'passwd'), 'middle\n');
    await writeFile(join(bottom, 'etc', 'group'), 'bottom group\n');
    assert.equal(await readImageFile([top, middle, bottom], '/etc/passwd'), 'middle\n');
    assert.equal(await readImageFile([top, middle, bottom], '/etc/group'), 'bottom group\n');
    assert.equal(await readImageFile([top, middle, bottom], '/etc/shadow'), undefined);
    // The top layer deletes group (an overlay whiteout): the bottom's is not seen.
    assert.equal((await runCommand('mknod', [join(top, 'etc', 'group'), 'c', '0', '0'])).exitCode, 0);
    assert.equal(await readImageFile([top, middle, bottom], '/etc/group'), undefined);
    // A symlink resolves inside the image (an absolute target is not the host's).
    await mkdir(join(bottom, 'data'));
    await writeFile(join(bottom, 'data', 'hosts'), 'in the image\n');
    await symlink('/data/hosts', join(top, 'etc', 'hosts'));
    assert.equal(await readImageFile([top, middle, bottom], '/etc/hosts'), 'in the image\n');
    await symlink('../../../../etc/hostname', join(top, 'etc', 'escape'));
    assert.equal(await readImageFile([top, middle, bottom], '/etc/escape'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
