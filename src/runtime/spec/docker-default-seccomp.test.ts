import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CAPABILITIES } from './defaults.js';
import { dockerDefaultSeccompProfile } from './docker-default-seccomp.js';
import { toOciSeccomp } from './seccomp-profile.js';

/** What the converted profile does with `name` (ignoring argument filters): its rules' actions. */
function actionsFor(capabilities: readonly string[], name: string): string[] {
  const oci = toOciSeccomp(dockerDefaultSeccompProfile(), { arch: 'amd64', capabilities, kernelRelease: '6.1.0-18-amd64' });
  return (oci.syscalls ?? []).filter((rule) => rule.names.includes(name)).map((rule) => `${rule.action}${rule.args?.length ? ' (args)' : ''}${rule.errnoRet !== undefined ? ` ${rule.errnoRet}` : ''}`);
}

describe("docker's default seccomp profile", () => {
  it('denies by default with EPERM, on the host arch and its sub-architectures', () => {
    const oci = toOciSeccomp(dockerDefaultSeccompProfile(), { arch: 'amd64', capabilities: DEFAULT_CAPABILITIES, kernelRelease: '6.1.0' });
    assert.equal(oci.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(oci.defaultErrnoRet, 1);
    assert.deepEqual(oci.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('gives a default container neither new namespaces nor mounts nor the kernel keyring', () => {
    for (const name of ['unshare', 'mount', 'umount2', 'setns', 'keyctl', 'add_key', 'request_key', 'bpf', 'init_module', 'reboot', 'kcmp']) {
      assert.deepEqual(actionsFor(DEFAULT_CAPABILITIES, name), [], `${name} is allowed`);
    }
    // clone only without namespace flags; clone3 answers ENOSYS so libc falls back to clone.
    assert.deepEqual(actionsFor(DEFAULT_CAPABILITIES, 'clone'), ['SCMP_ACT_ALLOW (args)']);
    assert.deepEqual(actionsFor(DEFAULT_CAPABILITIES, 'clone3'), ['SCMP_ACT_ERRNO 38']);
    for (const name of ['read', 'execve', 'chroot', 'ptrace', 'arch_prctl', 'openat']) {
      assert.ok(actionsFor(DEFAULT_CAPABILITIES, name).includes('SCMP_ACT_ALLOW'), `${name} is denied`);
    }
  });

  it('unlocks what a capability stands for', () => {
    const admin = [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'];
    for (const name of ['unshare', 'mount', 'setns', 'clone', 'clone3']) assert.deepEqual(actionsFor(admin, name), ['SCMP_ACT_ALLOW'], name);
    assert.deepEqual(actionsFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_MODULE'], 'init_module'), ['SCMP_ACT_ALLOW']);
    assert.deepEqual(actionsFor(DEFAULT_CAPABILITIES.filter((cap) => cap !== 'CAP_SYS_CHROOT'), 'chroot'), []);
  });
});
