import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withShimStatus, type VmRecord } from './vm-state.js';

const created: VmRecord = { id: 'c1', bundle: '/b', pid: 0, status: 'creating', created: '2026-11-23T00:00:00Z', accel: 'tcg' };

describe('withShimStatus', () => {
  it('keeps create’s record while the shim has said nothing', () => {
    assert.deepEqual(withShimStatus(created, ''), created);
    assert.deepEqual(withShimStatus(created, 'garbage 12\n'), created);
  });

  it('takes the pid from created and running', () => {
    assert.deepEqual(withShimStatus(created, 'created 4242\n\n'), { ...created, status: 'created', pid: 4242 });
    assert.deepEqual(withShimStatus(created, 'running 4242\n\n'), { ...created, status: 'running', pid: 4242 });
  });

  it('takes the exit code and the error from stopped', () => {
    assert.deepEqual(withShimStatus(created, 'stopped 3\n\n'), { ...created, status: 'stopped', exitCode: 3 });
    const panicked = withShimStatus(created, "stopped 255\nthe VM ended without the container's exit status: Kernel panic\n");
    assert.equal(panicked.exitCode, 255);
    assert.equal(panicked.error, "the VM ended without the container's exit status: Kernel panic");
  });
});
