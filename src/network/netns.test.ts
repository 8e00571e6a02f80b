import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountHelper, readMountInfo, runCommand } from '../sys/index.js';
import { createNetns, removeNetns } from './netns.js';

const isRoot = process.getuid?.() === 0;

for (const through of ['berth-mount', 'unshare'] as const) {
  test(`createNetns makes a namespace handle with lo up, removeNetns removes it (through ${through})`, { skip: !isRoot && 'needs root' }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-netns-test-'));
    // dist/src/network/ -> the repository's build/, where scripts/build puts the helper.
    const helper = through === 'berth-mount' ? new MountHelper(new URL('../../../build/berth-mount', import.meta.url).pathname) : undefined;
    try {
      const path = await createNetns(dir, 'c1', { loopbackUp: true, ...(helper ? { helper } : {}) });
      assert.equal(path, join(dir, 'c1'));
      assert.ok((await readMountInfo()).some((m) => m.mountPoint === path && m.fsType === 'nsfs'), 'the handle is a mounted namespace');
      const link = await runCommand('nsenter', [`--net=${path}`, 'ip', '-o', 'link', 'show', 'lo']);
      assert.match(link.stdout, /<LOOPBACK,UP/, link.stderr);
      await removeNetns(path, helper);
      assert.equal(await access(path).then(() => true, () => false), false);
      assert.ok(!(await readMountInfo()).some((m) => m.mountPoint === path));
      await removeNetns(path, helper);
    } finally {
      helper?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
