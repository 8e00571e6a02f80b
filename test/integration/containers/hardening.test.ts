/**
 * Break-out attempts from a default process container that must fail, as they fail under docker's
 * default confinement (its seccomp profile, capabilities, read-only /proc paths), each beside a
 * control that shows the same attempt succeeds where the confinement is lifted, so a test that
 * passes proves the confinement and not a missing tool.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { startTestDaemon, type TestDaemon } from '../harness.js';

/** A static probe calling keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1): prints the errno name or "allowed". */
const KEYCTL_PROBE = `
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 1);
  if (r < 0) { printf("%s\\n", errno == EPERM ? "EPERM" : strerror(errno)); return 1; }
  printf("allowed\\n");
  return 0;
}
`;

describe('hardening: a default container cannot break out', () => {
  let daemon: TestDaemon;
  let probeDir: string;
  before(async () => {
    daemon = await startTestDaemon();
    probeDir = await mkdtemp(join(tmpdir(), 'berth-probe-'));
    await writeFile(join(probeDir, 'keyctl.c'), KEYCTL_PROBE);
    const built = await runCommand('gcc', ['-static', '-O', '-o', join(probeDir, 'keyctl'), join(probeDir, 'keyctl.c')]);
    assert.equal(built.exitCode, 0, `gcc: ${built.stderr}`);
  });
  after(async () => {
    await daemon?.cleanup();
    if (probeDir) await rm(probeDir, { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<{ exitCode: number; out: string }> {
    const result = await daemon.docker(['run', '--rm', ...args]);
    return { exitCode: result.exitCode, out: result.stdout + result.stderr };
  }

  it('cannot make a user namespace and mount inside it (seccomp), as docker', async () => {
    const userns = await run(['busybox', 'unshare', '-U', '-r', '-m', 'sh', '-c', 'mount -t tmpfs x /tmp && echo mounted']);
    assert.notEqual(userns.exitCode, 0, userns.out);
    assert.doesNotMatch(userns.out, /mounted/);
    assert.match(userns.out, /Operation not permitted/);
    const mountns = await run(['busybox', 'unshare', '-m', 'true']);
    assert.notEqual(mountns.exitCode, 0, mountns.out);
    // Control: with CAP_SYS_ADMIN (seccomp lets unshare through with it) the same works.
    const control = await run(['--cap-add', 'SYS_ADMIN', 'busybox', 'unshare', '-m', 'sh', '-c', 'mount -t tmpfs x /tmp && echo mounted']);
    assert.equal(control.exitCode, 0, control.out);
    assert.match(control.out, /mounted/);
  });

  it('cannot use the kernel keyring (keyctl is EPERM), as docker', async () => {
    const denied = await run(['-v', `${probeDir}:/probe:ro`, 'busybox', '/probe/keyctl']);
    assert.equal(denied.out.trim(), 'EPERM');
    const control = await run(['--security-opt', 'seccomp=unconfined', '-v', `${probeDir}:/probe:ro`, 'busybox', '/probe/keyctl']);
    assert.equal(control.out.trim(), 'allowed');
  });

  it('cannot write /proc/sysrq-trigger or /proc/sys, nor load a module', async () => {
    if (existsSync('/proc/sysrq-trigger')) {
      const sysrq = await run(['busybox', 'sh', '-c', 'echo h > /proc/sysrq-trigger']);
      assert.notEqual(sysrq.exitCode, 0);
      assert.match(sysrq.out, /Read-only file system/);
    }
    const sysctl = await run(['busybox', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    assert.notEqual(sysctl.exitCode, 0);
    const module = await run(['-v', `${probeDir}:/probe:ro`, 'busybox', 'insmod', '/probe/keyctl']);
    assert.notEqual(module.exitCode, 0, module.out);
    assert.match(module.out, /Operation not permitted|not permitted/);
  });

  it('has no raw sockets after --cap-drop NET_RAW, and has them by default', async () => {
    const dropped = await run(['--network', 'none', '--cap-drop', 'NET_RAW', 'busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']);
    assert.notEqual(dropped.exitCode, 0, dropped.out);
    assert.match(dropped.out, /permission denied|Operation not permitted/i);
    const control = await run(['--network', 'none', 'busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']);
    assert.equal(control.exitCode, 0, control.out);
  });

  it("cannot see another container's processes or reach its root through /proc", async () => {
    const other = (await daemon.docker(['run', '-d', 'busybox', 'sleep', '1000'])).stdout.trim();
    try {
      const hostPid = (await daemon.docker(['inspect', '-f', '{{.State.Pid}}', other])).stdout.trim();
      assert.match(hostPid, /^\d+$/);
      // Its own PID namespace: the other container's sleep is nowhere in its /proc, under any PID.
      const probe = await run(['busybox', 'sh', '-c', `cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo; ls /proc/${hostPid}/root >/dev/null 2>&1 || echo no-root`]);
      assert.doesNotMatch(probe.out, /sleep 1000/);
      assert.match(probe.out, /no-root/);
    } finally {
      await daemon.docker(['rm', '-f', other]);
    }
  });

  it('names a seccomp profile it cannot read without echoing its content', async () => {
    const secret = join(probeDir, 'not-a-profile');
    await writeFile(secret, 'root:secret-hash:0:0\n');
    const answer = await daemon.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { SecurityOpt: [`seccomp=${secret}`] } }));
    let message = answer.body;
    if (answer.status === 201) {
      const id = (JSON.parse(answer.body) as { Id: string }).Id;
      const start = await daemon.api('POST', `/containers/${id}/start`);
      message = start.body;
      assert.equal(start.status, 400, start.body);
      await daemon.api('DELETE', `/containers/${id}?force=1`);
    } else {
      assert.equal(answer.status, 400, answer.body);
    }
    assert.doesNotMatch(message, /secret-hash|root:/);
    assert.match(message, /seccomp profile/);
  });
});
