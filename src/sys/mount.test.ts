import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostMounter, parseMountInfo, MountError } from './mount.js';

const SAMPLE = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '36 22 0:31 / /tmp/with\\040space rw - tmpfs tmp\\040fs rw,size=10k',
  '40 22 0:33 / /var/lib/berth/containers/x/merged rw master:2 - overlay overlay rw,lowerdir=l/A:l/B',
  'garbage line',
  '',
].join('\n');

test('parseMountInfo reads fields and decodes escapes', () => {
  const entries = parseMountInfo(SAMPLE);
  assert.equal(entries.length, 3);
  assert.deepEqual(entries[1], {
    mountId: 36, parentId: 22, mountPoint: '/tmp/with space', fsType: 'tmpfs', source: 'tmp fs', superOptions: 'rw,size=10k',
  });
  assert.equal(entries[2]!.fsType, 'overlay');
  assert.equal(entries[2]!.mountPoint, '/var/lib/berth/containers/x/merged');
});

const isRoot = process.getuid?.() === 0;

test('HostMounter mounts, reports and unmounts a tmpfs idempotently', { skip: !isRoot && 'needs root' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mount-test-'));
  const target = join(dir, 'm nt');
  await mkdir(target);
  const mounter = new HostMounter();
  try {
    assert.equal(await mounter.isMounted(target), false);
    await mounter.mount({ source: 'tmpfs', target, type: 'tmpfs', options: ['size=64k', 'mode=0700'] });
    assert.equal(await mounter.isMounted(target), true);
    await writeFile(join(target, 'f'), 'x');
    assert.equal(await readFile(join(target, 'f'), 'utf8'), 'x');
    await mounter.unmount(target);
    assert.equal(await mounter.isMounted(target), false);
    await mounter.unmount(target);
    await assert.rejects(mounter.mount({ source: 'none', target: join(dir, 'missing'), type: 'tmpfs' }), MountError);
  } finally {
    await mounter.unmount(target).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});
