import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capabilityFields } from './guest-capabilities.js';

describe('capabilityFields', () => {
  it("encodes docker's default set as the masks the kernel shows (CapEff a80425fb)", () => {
    const defaults = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];
    const fields = capabilityFields({ capabilities: { bounding: defaults, effective: defaults, permitted: defaults }, noNewPrivileges: true });
    assert.deepEqual(fields, ['caps=a80425fb/a80425fb/a80425fb/0/0', 'nnp=1']);
  });

  it('gives no fields without capabilities, and skips names it does not know', () => {
    assert.deepEqual(capabilityFields({}), []);
    assert.deepEqual(capabilityFields({ capabilities: { bounding: ['CAP_BPF', 'CAP_FROM_THE_FUTURE'] } }), ['caps=8000000000/0/0/0/0']);
  });
});
