import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxSeccomp } from '../oci/index.js';
import { seccompCompilerInput, seccompFields, seccompFlagMask, UnsupportedGuestSeccompError } from './guest-seccomp.js';

describe('guest seccomp', () => {
  it('writes the compiler input: default, architectures, one rule line per syscall name with its conditions', () => {
    const seccomp: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    };
    assert.equal(seccompCompilerInput(seccomp), [
      'default SCMP_ACT_ERRNO 1',
      'arch SCMP_ARCH_X86_64',
      'arch SCMP_ARCH_X86',
      'rule SCMP_ACT_ALLOW 1 read 0',
      'rule SCMP_ACT_ALLOW 1 write 0',
      'rule SCMP_ACT_ALLOW 1 personality 1 0 SCMP_CMP_EQ 8 0',
      'rule SCMP_ACT_ERRNO 38 clone3 0',
      'rule SCMP_ACT_ALLOW 1 clone 1 0 SCMP_CMP_MASKED_EQ 2114060288 0',
      '',
    ].join('\n'));
  });

  it('refuses by name what the guest cannot apply or a line could not carry', () => {
    const refuse = (seccomp: LinuxSeccomp, message: RegExp): void => {
      assert.throws(() => { seccompCompilerInput(seccomp); seccompFlagMask(seccomp); }, (err: unknown) => err instanceof UnsupportedGuestSeccompError && message.test(err.message));
    };
    refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY is not supported with --isolation=vm/);
    refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir\nrule'], action: 'SCMP_ACT_ERRNO' }] }, /invalid syscall name/);
    refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }, /index 6 is out of range/);
    refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, /not an unsigned integer/);
    refuse({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] }, /SECCOMP_FILTER_FLAG_NEW_LISTENER is not supported/);
  });

  it("makes START's field from the flags and the compiled program, and none without a section", async () => {
    const seccomp: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] };
    const fields = await seccompFields(seccomp, () => Promise.resolve(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])));
    assert.deepEqual(fields, ['seccomp=6/AQIDBAUGBwg=']);
    assert.deepEqual(await seccompFields(undefined, () => assert.fail('nothing to compile')), []);
  });
});
