/**
 * What a process container gets by default, checked from inside: docker's capability set,
 * the seccomp filter, masked and read-only /proc paths, its own network namespace with
 * loopback only, per-container hosts/hostname/resolv.conf, and cgroups cleaned after exit.
 * Also runc as the selectable runtime.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

// docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
const DOCKER_DEFAULT_CAPS = 0xa80425fbn;

function capEff(status: string): bigint {
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  assert.ok(match, status);
  return BigInt('0x' + match[1]);
}

describe('process isolation defaults', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it("gives docker's default capabilities, seccomp, and honours --cap-add/--cap-drop/--privileged", async () => {
    const status = (await daemon.docker(['run', '--rm', 'busybox', 'cat', '/proc/self/status'])).stdout;
    assert.equal(capEff(status), DOCKER_DEFAULT_CAPS);
    assert.match(status, /^Seccomp:\s*2$/m);
    assert.match(status, /^NoNewPrivs:\s*0$/m);
    const dropped = (await daemon.docker(['run', '--rm', '--cap-drop', 'NET_RAW', '--cap-add', 'SYS_ADMIN', 'busybox', 'cat', '/proc/self/status'])).stdout;
    assert.equal(capEff(dropped), (DOCKER_DEFAULT_CAPS & ~(1n << 13n)) | (1n << 21n));
    const privileged = (await daemon.docker(['run', '--rm', '--privileged', 'busybox', 'cat', '/proc/self/status'])).stdout;
    assert.match(privileged, /^Seccomp:\s*0$/m);
    assert.ok(capEff(privileged) > DOCKER_DEFAULT_CAPS);
    // Without CAP_SYS_ADMIN a mount is refused.
    const mount = await daemon.docker(['run', '--rm', 'busybox', 'mount', '-t', 'tmpfs', 'x', '/mnt']);
    assert.notEqual(mount.exitCode, 0);
  });

  it('masks and write-protects /proc paths', async () => {
    // /proc/timer_list exists on this host's kernel and is one of docker's masked paths.
    const masked = await daemon.docker(['run', '--rm', 'busybox', 'sh', '-c', 'wc -c < /proc/timer_list']);
    assert.equal(masked.stdout.trim(), '0', masked.stderr);
    const readonly = await daemon.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo x > /proc/sys/kernel/domainname']);
    assert.notEqual(readonly.exitCode, 0);
    assert.match(readonly.stderr, /Read-only file system/);
  });

  it('has its own network namespace (loopback only with --network none), and its own etc files', async () => {
    const links = await daemon.docker(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
    const names = links.stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim());
    assert.deepEqual(names, ['lo']);
    assert.match(links.stdout, /LOOPBACK,UP/);
    const ping = await daemon.docker(['run', '--rm', '--network', 'none', 'busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']);
    assert.equal(ping.exitCode, 0, ping.stderr);
    const files = await daemon.docker(['run', '--rm', '-h', 'myhost', '--add-host', 'db:192.0.2.7', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; grep db /etc/hosts; grep -c localhost /etc/hosts']);
    assert.equal(files.stdout, 'myhost\nmyhost\n192.0.2.7\tdb\n2\n');
    const mounts = (await daemon.docker(['run', '--rm', 'busybox', 'cat', '/proc/mounts'])).stdout;
    assert.match(mounts, /^overlay \/ overlay /m);
    assert.match(mounts, / \/etc\/resolv.conf /);
  });

  it('runs with runc when asked, and removes each container cgroup', async () => {
    const run = await daemon.docker(['run', '--rm', '--runtime', 'runc', 'busybox', 'echo', 'from runc']);
    assert.equal(run.stdout, 'from runc\n', run.stderr);
    const bad = await daemon.docker(['run', '--rm', '--runtime', 'nosuch', 'busybox', 'true']);
    assert.equal(bad.exitCode, 125);
    assert.match(bad.stderr, /unknown or invalid runtime name: nosuch/);
    const id = (await daemon.docker(['run', '-d', 'busybox', 'sleep', '1000'])).stdout.trim();
    assert.equal((await daemon.docker(['top', id])).exitCode, 0);
    await daemon.docker(['rm', '-f', id]);
    for (const controller of ['memory', 'pids', 'cpu']) {
      const dir = `/sys/fs/cgroup/${controller}/berth`;
      const left = await readdir(dir).catch(() => [] as string[]);
      assert.ok(!left.includes(id), `cgroup ${dir}/${id} left behind`);
    }
  });

  it('refuses unknown isolation values, and a process runtime for a VM container', async () => {
    // VM isolation itself is tested in test/integration/vm/.
    const vm = await daemon.docker(['run', '--rm', '--isolation', 'vm', '--runtime', 'runc', 'busybox', 'true']);
    assert.equal(vm.exitCode, 125);
    assert.match(vm.stderr, /runtime runc cannot run a container with isolation 'vm'/);
    const bogus = await daemon.docker(['run', '--rm', '--isolation', 'bogus', 'busybox', 'true']);
    assert.equal(bogus.exitCode, 125);
    assert.match(bogus.stderr, /invalid isolation 'bogus'/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout.trim(), '');
  });
});
