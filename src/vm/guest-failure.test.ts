import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeGuestFailure } from './guest-failure.js';

const consoleLog = [
  '[    0.610000] sysrq: Trigger a crash',
  '[    0.611000] Kernel panic - not syncing: sysrq triggered crash',
  '[    0.616254] R13: 00000000008a93a0 R14: 0000000000000001 R15: 00007fff2434c520',
  '[    0.617357] Kernel Offset: disabled',
  '',
].join('\n');

describe('guest failure', () => {
  it('names the kernel panic instead of the register dump after it', () => {
    const shimError = "the VM ended without the container's exit status: [    0.617357] Kernel Offset: disabled";
    assert.equal(describeGuestFailure(shimError, consoleLog), "the VM ended without the container's exit status: Kernel panic - not syncing: sysrq triggered crash");
  });

  it('keeps other errors, and the shim message when the console has no panic', () => {
    assert.equal(describeGuestFailure('the guest agent broke the protocol: x', consoleLog), 'the guest agent broke the protocol: x');
    const killed = "the VM ended without the container's exit status";
    assert.equal(describeGuestFailure(killed, 'booted\n'), killed);
  });
});
