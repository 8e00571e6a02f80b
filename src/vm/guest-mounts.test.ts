import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountField, planGuestMounts } from './guest-mounts.js';

describe('guest mount plan', () => {
  it('shares directories once, files through their parent, and skips non-bind mounts', () => {
    const dir = mkdtempSync('/tmp/berth-vm-plan-');
    try {
      writeFileSync(join(dir, 'hosts'), '');
      writeFileSync(join(dir, 'hostname'), '');
      const plan = planGuestMounts([
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/etc/hosts', type: 'bind', source: join(dir, 'hosts'), options: ['rbind', 'rprivate', 'rw'] },
        { destination: '/etc/hostname', type: 'bind', source: join(dir, 'hostname'), options: ['rbind', 'rprivate', 'rw'] },
        { destination: '/src', type: 'bind', source: dir, options: ['rbind', 'ro'] },
      ]);
      assert.deepEqual(plan.shares, [
        { tag: 'm0', hostPath: dir, isReadonly: false },
        { tag: 'm1', hostPath: dir, isReadonly: true },
      ]);
      assert.deepEqual(plan.mounts.map(mountField), ['mount=m0/rw/hosts//etc/hosts', 'mount=m0/rw/hostname//etc/hostname', 'mount=m1/ro///src']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps tmpfs mounts in order with their options, except the spec's /dev", () => {
    const plan = planGuestMounts([
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=64m'] },
    ]);
    assert.deepEqual(plan.shares, []);
    assert.deepEqual(plan.mounts.map(mountField), ['tmpfs=nosuid,noexec,nodev,mode=1777,size=67108864//dev/shm', 'tmpfs=nosuid,nodev,noexec,size=64m//run']);
  });

  it('counts shares against the room network devices leave', () => {
    const dir = mkdtempSync('/tmp/berth-vm-plan-');
    try {
      const binds = ['a', 'b', 'c'].map((d) => ({ destination: `/${d}`, type: 'bind', source: dir, options: d === 'b' ? ['rbind', 'ro'] : ['rbind', 'rw'] }));
      assert.equal(planGuestMounts(binds, 2).shares.length, 2);
      binds.push({ destination: '/d', type: 'bind', source: '/tmp', options: ['rbind', 'rw'] });
      assert.throws(() => planGuestMounts(binds, 2), /at most 2 distinct mount sources beside its 4 network interface/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing source', () => {
    assert.throws(() => planGuestMounts([{ destination: '/x', type: 'bind', source: '/nonexistent/berth-vm-plan' }]), /error mounting/);
  });
});
