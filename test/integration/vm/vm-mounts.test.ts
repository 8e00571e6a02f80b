/**
 * Volumes, bind mounts and the per-container /etc files inside a VM container (shared over
 * virtio-9p): a volume written in a VM is read by a process container, a read-only bind refuses
 * writes, and the guest sees the container's hostname and hosts files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

describe('vm isolation: mounts', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  before(async () => {
    daemon = await startTestDaemon();
    scratch = await mkdtemp('/tmp/berth-vm-mounts-');
  });
  after(async () => {
    await daemon?.docker(['volume', 'rm', '-f', 'vmvol']).catch(() => {});
    await daemon?.cleanup();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('shares a volume with process containers', async () => {
    const write = await daemon.docker(['run', '--rm', '--isolation=vm', '-v', 'vmvol:/data', 'busybox', 'sh', '-c', 'echo 1 > /data/f'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(write.exitCode, 0, write.stderr);
    const read = await daemon.docker(['run', '--rm', '-v', 'vmvol:/data', 'busybox', 'cat', '/data/f']);
    assert.equal(read.exitCode, 0, read.stderr);
    assert.equal(read.stdout.trim(), '1');
  });

  it('binds a host directory read-write and read-only', async () => {
    await writeFile(join(scratch, 'in'), 'from the host\n');
    const rw = await daemon.docker(['run', '--rm', '--isolation=vm', '-v', `${scratch}:/src`, 'busybox', 'sh', '-c', 'cat /src/in && echo back > /src/out'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(rw.exitCode, 0, rw.stderr);
    assert.equal(rw.stdout.trim(), 'from the host');
    assert.equal((await readFile(join(scratch, 'out'), 'utf8')).trim(), 'back');
    const ro = await daemon.docker(['run', '--rm', '--isolation=vm', '-v', `${scratch}:/src:ro`, 'busybox', 'sh', '-c', 'cat /src/in; echo no > /src/in'], { timeoutMs: VM_TIMEOUT_MS });
    assert.notEqual(ro.exitCode, 0);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal((await readFile(join(scratch, 'in'), 'utf8')).trim(), 'from the host');
  });

  it("sees the container's hostname, hosts and resolv.conf files", async () => {
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '-h', 'vmhost', 'busybox', 'sh', '-c', 'cat /etc/hostname; grep -c vmhost /etc/hosts; test -s /etc/resolv.conf && echo resolv'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), ['vmhost', '1', 'resolv']);
  });
});
