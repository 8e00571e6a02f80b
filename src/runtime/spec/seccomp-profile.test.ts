import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toOciSeccomp, type MobySeccompProfile } from './seccomp-profile.js';

const profile: MobySeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['set_tls'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    { names: ['chroot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_CHROOT'] } },
    { names: ['chroot'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_CHROOT'] } },
    { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.3' } },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    { name: 'legacy', action: 'SCMP_ACT_ALLOW', args: null },
  ],
};

test('keeps rules for the host arch and maps its sub-architectures', () => {
  const result = toOciSeccomp(profile, { arch: 'amd64', capabilities: [], kernelRelease: '6.1.0-18-amd64' });
  assert.deepEqual(result.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const names = result.syscalls!.flatMap((s) => s.names);
  assert.ok(names.includes('arch_prctl'));
  assert.ok(!names.includes('set_tls'));
  assert.equal(result.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(result.defaultErrnoRet, 38);
});

test('capability includes and excludes follow the container capabilities', () => {
  const without = toOciSeccomp(profile, { arch: 'amd64', capabilities: ['CAP_CHOWN'], kernelRelease: '6.1' });
  const chrootRules = without.syscalls!.filter((s) => s.names.includes('chroot'));
  assert.deepEqual(chrootRules, [{ names: ['chroot'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }]);
  assert.ok(!without.syscalls!.some((s) => s.names.includes('mount')));

  const withCaps = toOciSeccomp(profile, { arch: 'amd64', capabilities: ['CAP_SYS_CHROOT', 'CAP_SYS_ADMIN'], kernelRelease: '6.1' });
  assert.deepEqual(withCaps.syscalls!.filter((s) => s.names.includes('chroot')), [{ names: ['chroot'], action: 'SCMP_ACT_ALLOW' }]);
  assert.ok(withCaps.syscalls!.some((s) => s.names.includes('mount')));
});

test('minKernel compares major.minor numerically', () => {
  const old = toOciSeccomp(profile, { arch: 'amd64', capabilities: [], kernelRelease: '6.1.0' });
  const recent = toOciSeccomp(profile, { arch: 'amd64', capabilities: [], kernelRelease: '6.18.44-fc' });
  assert.ok(!old.syscalls!.some((s) => s.names.includes('new_call')));
  assert.ok(recent.syscalls!.some((s) => s.names.includes('new_call')));
});

test('args get valueTwo, null args are dropped, a singular name becomes names', () => {
  const result = toOciSeccomp(profile, { arch: 'arm64', capabilities: [], kernelRelease: '6.1' });
  assert.deepEqual(result.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.deepEqual(result.syscalls!.find((s) => s.names.includes('personality'))!.args, [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }]);
  assert.deepEqual(result.syscalls!.find((s) => s.names.includes('legacy')), { names: ['legacy'], action: 'SCMP_ACT_ALLOW' });
});

test('the input profile is not modified', () => {
  const before = JSON.stringify(profile);
  toOciSeccomp(profile, { arch: 'amd64', capabilities: ['CAP_SYS_ADMIN'], kernelRelease: '6.1' });
  assert.equal(JSON.stringify(profile), before);
});
