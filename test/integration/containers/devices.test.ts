/**
 * `--device` and `--device-cgroup-rule` as dockerd applies them: a host device node made in the
 * container at the path asked for, usable with the permissions given (the device cgroup's rule)
 * and no more; extra cgroup rules letting the container open nodes it makes itself. A missing
 * host device fails the start with dockerd's message; a VM container refuses both at create.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cannotRun, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';

describe('--device and --device-cgroup-rule', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const run = (args: string[]) => daemon.docker(['run', '--rm', ...args]);

  it('--device makes the host node at the container path, with its permissions', async () => {
    const listed = await run(['--device', '/dev/null:/dev/xnull', 'busybox', 'sh', '-c', 'ls /dev/xnull && echo x > /dev/xnull && echo wrote']);
    assert.equal(listed.exitCode, 0, listed.stderr);
    assert.equal(listed.stdout, '/dev/xnull\nwrote\n');
    // loop-control (c 10:237) is not in docker's default allow list: the mapping's permissions alone decide.
    const readOnly = await run(['--device', '/dev/loop-control:/dev/lc:r', 'busybox', 'sh', '-c', ': < /dev/lc && echo opened to read; : > /dev/lc']);
    assert.notEqual(readOnly.exitCode, 0);
    assert.equal(readOnly.stdout, 'opened to read\n');
    assert.match(readOnly.stderr, /Operation not permitted/);
    const readWrite = await run(['--device', '/dev/loop-control:/dev/lc:rw', 'busybox', 'sh', '-c', ': > /dev/lc && echo opened to write']);
    assert.equal(readWrite.exitCode, 0, readWrite.stderr);
    const id = (await daemon.docker(['create', '--device', '/dev/null:/dev/xnull:rw', 'busybox', 'true'])).stdout.trim();
    const devices = JSON.parse((await daemon.docker(['inspect', '-f', '{{json .HostConfig.Devices}}', id])).stdout) as unknown;
    assert.deepEqual(devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'rw' }]);
  });

  it('--device-cgroup-rule lets the container open a node it made (denied without it)', async () => {
    // c 1:11 (kmsg) is not in docker's default allow list; opening it write-only needs no capability.
    const script = 'mknod /tmp/n c 1 11 && : > /tmp/n && echo opened';
    const denied = await run(['busybox', 'sh', '-c', script]);
    assert.notEqual(denied.exitCode, 0);
    assert.match(denied.stderr, /Operation not permitted/);
    const allowed = await run(['--device-cgroup-rule', 'c 1:11 w', 'busybox', 'sh', '-c', script]);
    assert.equal(allowed.exitCode, 0, allowed.stderr);
    assert.equal(allowed.stdout, 'opened\n');
  });

  it('refuses what cannot work: a missing host device at start, a bad rule or a VM container at create', async () => {
    const missing = await run(['--device', '/dev/berth-no-such', 'busybox', 'true']);
    // The docker CLI exits 127 for a start error saying "no such file or directory", as with dockerd.
    assert.equal(missing.exitCode, 127);
    assert.match(missing.stderr, /error gathering device information while adding custom device "\/dev\/berth-no-such": no such file or directory/);
    const before = (await daemon.docker(['ps', '-aq'])).stdout;
    const badRule = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { DeviceCgroupRules: ['c 1 rwm'] } }));
    assert.equal(badRule.status, 400);
    assert.match(badRule.body, /invalid device cgroup rule format: 'c 1 rwm'/);
    const vm = await run(['--isolation=vm', '--device', '/dev/null', 'busybox', 'true']);
    assert.equal(vm.exitCode, 125);
    assert.match(vm.stderr, /--device is not supported with --isolation=vm/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, before);
  });
});
