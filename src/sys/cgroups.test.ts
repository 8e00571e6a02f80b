import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cgroupDirFromProcFile, ensureRuntimeCgroups, parseCgroupProcs } from './cgroups.js';

const PROC_CGROUPS = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nmemory\t4\t1\t1\ndevices\t5\t1\t1\nfreezer\t6\t1\t1\nhugetlb\t0\t1\t1\npids\t8\t1\t1\n';
const MOUNTINFO = '30 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n';

test('parseCgroupProcs reads pids and ignores blanks', () => {
  assert.deepEqual(parseCgroupProcs('12\n345\n\n'), [12, 345]);
});

test('cgroupDirFromProcFile picks the v1 pids hierarchy, else unified', () => {
  const hybrid = '12:pids:/berth/abc\n4:memory:/berth/abc\n0::/berth/abc\n';
  assert.equal(cgroupDirFromProcFile(hybrid, '/sys/fs/cgroup', false), '/sys/fs/cgroup/pids/berth/abc');
  assert.equal(cgroupDirFromProcFile('0::/berth/abc\n', '/sys/fs/cgroup', true), '/sys/fs/cgroup/berth/abc');
  assert.equal(cgroupDirFromProcFile('0::/x\n', '/sys/fs/cgroup', false), '/sys/fs/cgroup/unified/x');
  assert.equal(cgroupDirFromProcFile('', '/sys/fs/cgroup', true), undefined);
});

async function withFiles(mountinfo: string, fn: (paths: { mountinfoPath: string; procCgroupsPath: string }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cg-'));
  try {
    await writeFile(join(dir, 'mountinfo'), mountinfo);
    await writeFile(join(dir, 'cgroups'), PROC_CGROUPS);
    await fn({ mountinfoPath: join(dir, 'mountinfo'), procCgroupsPath: join(dir, 'cgroups') });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('hybrid host without hugetlb gets it mounted; with it, nothing happens', async () => {
  await withFiles(MOUNTINFO, async (paths) => {
    const mounts: string[] = [];
    const report = await ensureRuntimeCgroups({ ...paths, root: '/cg', detectMode: async () => 'hybrid', mountV1: async (c, t) => { mounts.push(`${c}@${t}`); } });
    assert.deepEqual(mounts, ['hugetlb@/cg/hugetlb']);
    assert.deepEqual(report, { mode: 'hybrid', mounted: ['/cg/hugetlb'], problems: [] });
  });
  await withFiles(MOUNTINFO + '42 31 0:39 / /cg/hugetlb rw - cgroup cgroup rw,hugetlb\n', async (paths) => {
    const report = await ensureRuntimeCgroups({ ...paths, root: '/cg', detectMode: async () => 'hybrid', mountV1: async () => assert.fail('no mount expected') });
    assert.deepEqual(report.mounted, []);
  });
});

test('a failed mount and a missing controller are reported, not thrown', async () => {
  await withFiles(MOUNTINFO, async (paths) => {
    const report = await ensureRuntimeCgroups({ ...paths, root: '/cg', detectMode: async () => 'hybrid', mountV1: async () => { throw new Error('permission denied'); } });
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!, /cannot mount the hugetlb cgroup hierarchy at \/cg\/hugetlb.*permission denied/);
  });
  const v2 = await ensureRuntimeCgroups({ detectMode: async () => 'v2' });
  assert.deepEqual(v2, { mode: 'v2', mounted: [], problems: [] });
});
