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
      assert.deepEqual(plan.mounts.map(mountField), ['m0/rw/hosts//etc/hosts', 'm0/rw/hostname//etc/hostname', 'm1/ro///src']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing source', () => {
    assert.throws(() => planGuestMounts([{ destination: '/x', type: 'bind', source: '/nonexistent/berth-vm-plan' }]), /error mounting/);
  });
});
