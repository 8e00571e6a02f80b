import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyResourceUpdate, checkCreateResources, limitsOf, parseCpuList, type HostResources } from './resources.js';

const MiB = 1024 * 1024;
const base: HostResources = { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, cpuShares: 0, pidsLimit: null };

test('create: docker defaults swap to twice the memory and refuses what dockerd refuses', () => {
  assert.equal(checkCreateResources({ ...base, memoryBytes: 64 * MiB }, [0, 1]).memorySwapBytes, 128 * MiB);
  assert.throws(() => checkCreateResources({ ...base, memoryBytes: MiB }, [0, 1]), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => checkCreateResources({ ...base, memorySwapBytes: 64 * MiB }, [0, 1]), /always set the Memory limit/);
  assert.throws(() => checkCreateResources({ ...base, nanoCpus: 3e9 }, [0, 1]), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  assert.throws(() => checkCreateResources({ ...base, cpusetCpus: '0-3' }, [0, 1]), /Requested CPUs are not available - requested 0-3, available: 0-1/);
  assert.throws(() => checkCreateResources({ ...base, ulimits: [{ name: 'nofile', soft: 2, hard: 1 }] }, [0, 1]), /soft limit must be less than or equal to hard limit: 2 > 1/);
  assert.throws(() => checkCreateResources({ ...base, ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] }, [0, 1]), /invalid ulimit type: bogus/);
  assert.equal(checkCreateResources({ ...base, pidsLimit: -1 }, [0, 1]).pidsLimit, null);
});

test('update: memory above the recorded swap conflicts; changes carry the swap along', () => {
  const current = { ...base, memoryBytes: 64 * MiB, memorySwapBytes: 128 * MiB };
  assert.throws(() => applyResourceUpdate('c', current, { memoryBytes: 256 * MiB }, [0, 1]), /update the memoryswap at the same time/);
  const { next, changed } = applyResourceUpdate('c', current, { memoryBytes: 100 * MiB, pidsLimit: -1 }, [0, 1]);
  assert.equal(next.memoryBytes, 100 * MiB);
  assert.deepEqual(changed, { memoryLimitBytes: 100 * MiB, memorySwapBytes: 128 * MiB, pidsLimit: -1 });
  assert.equal(next.pidsLimit, null);
});

test('limitsOf and parseCpuList', () => {
  assert.deepEqual(limitsOf({ ...base, memoryBytes: 64 * MiB, memorySwapBytes: -1, nanoCpus: 5e8, pidsLimit: 10 }), { memoryLimitBytes: 64 * MiB, memorySwapBytes: -1, nanoCpus: 5e8, pidsLimit: 10 });
  assert.deepEqual(parseCpuList('0-2,4'), [0, 1, 2, 4]);
  assert.equal(parseCpuList('2-1'), undefined);
});
