import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyResourceUpdate, checkCreateResources, checkHostSpecificResources, limitsOf, NO_CGROUP_FEATURES, parseCpuList, type CgroupFeatures, type HostResources } from './resources.js';

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
  assert.throws(() => applyResourceUpdate('c', current, { memoryBytes: 256 * MiB }, NO_CGROUP_FEATURES, [0, 1]), /update the memoryswap at the same time/);
  const { next, changed } = applyResourceUpdate('c', current, { memoryBytes: 100 * MiB, pidsLimit: -1 }, NO_CGROUP_FEATURES, [0, 1]);
  assert.equal(next.memoryBytes, 100 * MiB);
  assert.deepEqual(changed, { memoryLimitBytes: 100 * MiB, memorySwapBytes: 128 * MiB, pidsLimit: -1 });
  assert.equal(next.pidsLimit, null);
});

test('update: the CFS period and quota, real-time settings and block I/O weight, with dockerd\'s conflicts and the host\'s checks', () => {
  const { next, changed } = applyResourceUpdate('c', base, { cpuQuota: 30000 }, NO_CGROUP_FEATURES, [0, 1]);
  assert.equal(next.cpuQuota, 30000);
  // Both halves go to the runtime, so the kernel gets a period with the quota.
  assert.deepEqual(changed, { cpuPeriod: 0, cpuQuota: 30000 });
  assert.throws(() => applyResourceUpdate('c', { ...base, cpuQuota: 30000 }, { nanoCpus: 1e9 }, NO_CGROUP_FEATURES, [0, 1]), /CPU Quota cannot be updated as NanoCPUs has already been set/);
  assert.throws(() => applyResourceUpdate('c', { ...base, nanoCpus: 1e9 }, { cpuPeriod: 50000 }, NO_CGROUP_FEATURES, [0, 1]), /NanoCPUs cannot be updated as CPU Period has already been set/);
  assert.throws(() => applyResourceUpdate('c', base, { cpuQuota: 10 }, NO_CGROUP_FEATURES, [0, 1]), /CPU cfs quota can not be less than 1ms/);
  // A host without real-time group scheduling or I/O weight refuses them by name; one with them takes them within the budget.
  assert.throws(() => applyResourceUpdate('c', base, { cpuRealtimeRuntime: 1000 }, NO_CGROUP_FEATURES, [0, 1]), /--cpu-rt-runtime is not supported on this host/);
  assert.throws(() => applyResourceUpdate('c', base, { blkioWeight: 300 }, NO_CGROUP_FEATURES, [0, 1]), /--blkio-weight is not supported on this host/);
  const able: CgroupFeatures = { ...NO_CGROUP_FEATURES, cpuRealtime: true, cpuRealtimeBudgetUs: 5000, blkioWeight: true };
  const rt = applyResourceUpdate('c', base, { cpuRealtimePeriod: 100000, cpuRealtimeRuntime: 2000, blkioWeight: 300 }, able, [0, 1]);
  assert.deepEqual(rt.changed, { cpuRealtimePeriod: 100000, cpuRealtimeRuntime: 2000, blkio: { weight: 300 } });
  assert.throws(() => applyResourceUpdate('c', base, { cpuRealtimeRuntime: 6000 }, able, [0, 1]), /6000 is more than the real-time runtime berthd gives/);
});

test('limitsOf and parseCpuList', () => {
  assert.deepEqual(limitsOf({ ...base, memoryBytes: 64 * MiB, memorySwapBytes: -1, nanoCpus: 5e8, pidsLimit: 10 }), { memoryLimitBytes: 64 * MiB, memorySwapBytes: -1, nanoCpus: 5e8, pidsLimit: 10 });
  assert.deepEqual(parseCpuList('0-2,4'), [0, 1, 2, 4]);
  assert.equal(parseCpuList('2-1'), undefined);
});

test('checkHostSpecificResources: refused by name where the host cannot, dockerd\'s bounds where it can', () => {
  const all: CgroupFeatures = { memorySwappiness: true, cpuRealtime: true, cpuRealtimeBudgetUs: 10_000, blkioWeight: true, blkioWeightDevice: true, blkioThrottle: true };
  const unset = { ...base, memorySwappiness: null, cpuRealtimePeriod: 0, cpuRealtimeRuntime: 0, blkioWeight: 0, blkioDeviceReadBps: [] };
  checkHostSpecificResources(unset, NO_CGROUP_FEATURES);
  assert.throws(() => checkHostSpecificResources({ ...base, memorySwappiness: 30 }, NO_CGROUP_FEATURES), /--memory-swappiness is not supported on this host/);
  assert.throws(() => checkHostSpecificResources({ ...base, memorySwappiness: 101 }, all), /Invalid value: 101, valid memory swappiness range is 0-100/);
  checkHostSpecificResources({ ...base, memorySwappiness: 0 }, all);
  assert.throws(() => checkHostSpecificResources({ ...base, cpuRealtimeRuntime: 1000 }, NO_CGROUP_FEATURES), /--cpu-rt-runtime is not supported on this host/);
  assert.throws(() => checkHostSpecificResources({ ...base, cpuRealtimeRuntime: 20_000 }, all), /20000 is more than the real-time runtime berthd gives its containers \(10000/);
  assert.throws(() => checkHostSpecificResources({ ...base, cpuRealtimePeriod: 1000, cpuRealtimeRuntime: 2000 }, all), /cpu-rt-runtime cannot be higher than cpu-rt-period/);
  checkHostSpecificResources({ ...base, cpuRealtimePeriod: 100_000, cpuRealtimeRuntime: 1000 }, all);
  assert.throws(() => checkHostSpecificResources({ ...base, cpuRealtimeRuntime: -1 }, all), /invalid --cpu-rt-runtime -1: the runtime cannot be negative/);
  assert.throws(() => checkHostSpecificResources({ ...base, cpuRealtimePeriod: -1 }, all), /invalid --cpu-rt-period -1/);
  assert.throws(() => checkHostSpecificResources({ ...base, blkioWeight: 300 }, NO_CGROUP_FEATURES), /--blkio-weight is not supported on this host: Your kernel does not support Block I\/O weight/);
  assert.throws(() => checkHostSpecificResources({ ...base, blkioWeight: 5 }, all), /Range of blkio weight is from 10 to 1000/);
  assert.throws(() => checkHostSpecificResources({ ...base, blkioDeviceReadBps: [{ path: '/dev/null', value: 1 }] }, NO_CGROUP_FEATURES), /--device-read-bps is not supported on this host/);
  assert.throws(() => checkHostSpecificResources({ ...base, blkioDeviceReadBps: [{ path: '/dev/null', value: 1 }] }, all), /--device-read-bps: \/dev\/null is not a block device/);
  assert.throws(() => checkHostSpecificResources({ ...base, blkioDeviceWriteIops: [{ path: '/dev/nosuch', value: 1 }] }, all), /--device-write-iops: the device \/dev\/nosuch does not exist/);
});

test('limitsOf carries swappiness and the real-time settings', () => {
  assert.deepEqual(limitsOf({ ...base, memorySwappiness: 0, cpuRealtimePeriod: 100_000, cpuRealtimeRuntime: 1000 }), { memorySwappiness: 0, cpuRealtimePeriod: 100_000, cpuRealtimeRuntime: 1000 });
  assert.deepEqual(limitsOf({ ...base, memorySwappiness: null }), {});
});
