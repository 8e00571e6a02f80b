import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toOciResources } from './resources.js';

test('toOciResources writes swappiness, the real-time settings and the block I/O settings as the OCI spec names them', () => {
  const oci = toOciResources({
    memorySwappiness: 0,
    cpuRealtimePeriod: 100_000,
    cpuRealtimeRuntime: 1000,
    blkio: {
      weight: 300,
      weightDevices: [{ major: 8, minor: 0, value: 200 }],
      readBps: [{ major: 8, minor: 0, value: 1_048_576 }],
      writeIops: [{ major: 254, minor: 0, value: 100 }],
    },
  });
  assert.deepEqual(oci.memory, { swappiness: 0 });
  assert.deepEqual(oci.cpu, { realtimePeriod: 100_000, realtimeRuntime: 1000 });
  assert.deepEqual(oci.blockIO, {
    weight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1_048_576 }],
    throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 100 }],
  });
  assert.equal(toOciResources({}).blockIO, undefined);
  assert.equal(toOciResources({ blkio: {} }).blockIO, undefined);
});
