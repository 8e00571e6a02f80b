import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { devicesOf, parseDeviceCgroupRule } from './devices.js';

describe('--device and --device-cgroup-rule', () => {
  it('maps a host device node to its path in the container with a rule for it', async () => {
    const { devices, rules } = await devicesOf({ pathOnHost: '/dev/null', pathInContainer: '/dev/xnull', cgroupPermissions: 'rw' });
    assert.equal(devices.length, 1);
    assert.deepEqual({ ...devices[0], fileMode: undefined, uid: undefined, gid: undefined }, { path: '/dev/xnull', type: 'c', major: 1, minor: 3, fileMode: undefined, uid: undefined, gid: undefined });
    assert.deepEqual(rules, [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]);
  });

  it('refuses a missing path or one that is not a device with dockerd\'s words', async () => {
    await assert.rejects(devicesOf({ pathOnHost: '/dev/no-such-device', pathInContainer: '/dev/x', cgroupPermissions: 'rwm' }),
      /^InvalidArgumentError: error gathering device information while adding custom device "\/dev\/no-such-device": no such file or directory$/);
    await assert.rejects(devicesOf({ pathOnHost: '/etc/hostname', pathInContainer: '/dev/x', cgroupPermissions: 'rwm' }), /"\/etc\/hostname": not a device node/);
  });

  it('parses cgroup rules and refuses others', () => {
    assert.deepEqual(parseDeviceCgroupRule('c 1:3 mr'), { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' });
    assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', access: 'rwm' });
    assert.deepEqual(parseDeviceCgroupRule('b 8:* r'), { allow: true, type: 'b', major: 8, access: 'r' });
    assert.throws(() => parseDeviceCgroupRule('c 1:3'), /invalid device cgroup rule format: 'c 1:3'/);
  });
});
