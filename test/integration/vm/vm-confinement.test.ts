/**
 * docker's default confinement inside a VM container's guest: the spec's seccomp profile,
 * installed by the guest agent in the container's process and in every exec (a syscall docker's
 * profile denies fails with EPERM), lifted by `--security-opt seccomp=unconfined`, replaced by a
 * custom profile (also with no-new-privileges), and a profile the guest cannot apply refused by
 * name; masked paths hidden, and a root pivoted in the container's own mount namespace (joined
 * by exec) that a chroot escape cannot climb out of. Each seccomp denial has a control where the
 * same call succeeds, so a pass proves the filter and not a missing tool. Three VM boots in all
 * (TCG boots are slow).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const VM_TIMEOUT_MS = 120_000;

/** A static probe calling keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1): docker's profile denies it, no capability is needed for it. */
const KEYCTL_PROBE = `
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 1);
  if (r < 0) { printf("keyctl %s\\n", errno == EPERM ? "EPERM" : strerror(errno)); return 1; }
  printf("keyctl allowed\\n");
  return 0;
}
`;

/**
 * The classic chroot escape (CAP_SYS_CHROOT is in docker's default set): chroot into a
 * subdirectory, climb out of it with "..", chroot there. Under a plain chroot that reaches the
 * guest's initramfs (its /init is the agent); under pivot_root the container's root is the top.
 */
const CHROOT_ESCAPE_PROBE = `
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  mkdir("/tmp/escape", 0755);
  if (chroot("/tmp/escape") < 0) { perror("chroot"); return 2; }
  for (int i = 0; i < 64; i++) if (chdir("..") < 0) { perror("chdir"); return 2; }
  if (chroot(".") < 0) { perror("chroot ."); return 2; }
  printf(access("/init", F_OK) == 0 ? "escaped\\n" : "contained\\n");
  return 0;
}
`;

/** Allows everything but mkdir/mkdirat, which fail with EACCES (errnoRet honoured). */
const DENY_MKDIR_PROFILE = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
};

describe("vm isolation: seccomp and the rest of docker's confinement inside the guest", { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let probeDir: string;
  before(async () => {
    daemon = await startTestDaemon();
    probeDir = await mkdtemp(join(tmpdir(), 'berth-vm-confinement-'));
    // The probe runs as nobody too.
    await chmod(probeDir, 0o755);
    await writeFile(join(probeDir, 'keyctl.c'), KEYCTL_PROBE);
    const built = await runCommand('gcc', ['-static', '-O', '-o', join(probeDir, 'keyctl'), join(probeDir, 'keyctl.c')]);
    assert.equal(built.exitCode, 0, `gcc: ${built.stderr}`);
    await writeFile(join(probeDir, 'escape.c'), CHROOT_ESCAPE_PROBE);
    const escape = await runCommand('gcc', ['-static', '-O', '-o', join(probeDir, 'escape'), join(probeDir, 'escape.c')]);
    assert.equal(escape.exitCode, 0, `gcc: ${escape.stderr}`);
    await writeFile(join(probeDir, 'deny-mkdir.json'), JSON.stringify(DENY_MKDIR_PROFILE));
    await writeFile(join(probeDir, 'notify.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }));
  });
  after(async () => {
    await daemon?.cleanup();
    if (probeDir) await rm(probeDir, { recursive: true, force: true });
  });

  it("applies docker's default profile to the container's process and to exec: keyctl and unshare are EPERM", async () => {
    const started = await daemon.docker(['run', '-d', '--name', 'confined', '--isolation=vm', '--network', 'none', '-v', `${probeDir}:/probe:ro`,
      'busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status; /probe/keyctl; /probe/escape; echo up; sleep 1000'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(started.exitCode, 0, started.stderr);
    let logs = '';
    for (let i = 0; i < 300 && !/^up$/m.test(logs); i++) {
      logs = (await daemon.docker(['logs', 'confined'])).stdout;
      if (!/^up$/m.test(logs)) await new Promise((r) => setTimeout(r, 100));
    }
    // Mode 2: a filter is installed in the container's own process.
    assert.match(logs, /^Seccomp:\s+2$/m);
    assert.match(logs, /^keyctl EPERM$/m);
    // The root is pivoted in the container's own mount namespace, which exec joins.
    assert.match(logs, /^contained$/m);
    const escape = await daemon.docker(['exec', 'confined', '/probe/escape']);
    assert.equal(escape.stdout.trim(), 'contained', escape.stderr);
    const keyctl = await daemon.docker(['exec', 'confined', '/probe/keyctl']);
    assert.equal(keyctl.stdout.trim(), 'keyctl EPERM');
    const status = await daemon.docker(['exec', 'confined', 'grep', 'Seccomp:', '/proc/self/status']);
    assert.match(status.stdout, /^Seccomp:\s+2$/m);
    // A new user namespace, then a mount inside it: the break-out docker's profile stops.
    const userns = await daemon.docker(['exec', 'confined', 'unshare', '-U', '-r', '-m', 'sh', '-c', 'mount -t tmpfs x /tmp && echo mounted']);
    assert.notEqual(userns.exitCode, 0, userns.stdout);
    assert.doesNotMatch(userns.stdout, /mounted/);
    assert.match(userns.stderr, /Operation not permitted/);
    // Masked paths: /dev/null over a file, an empty read-only tmpfs over a directory (vm-flags
    // shows --privileged seeing them).
    const masked = await daemon.docker(['exec', 'confined', 'sh', '-c', 'echo "interrupts=$(wc -c < /proc/interrupts) firmware=$(ls -A /sys/firmware | wc -l)"; touch /sys/firmware/x']);
    assert.match(masked.stdout, /^interrupts=0 firmware=0$/m);
    assert.match(masked.stderr, /Read-only file system/);
    // /dev as a process container's: the standard devices, not the guest's console, kernel log or
    // the agent's channel.
    const dev = (await daemon.docker(['exec', 'confined', 'ls', '-A', '/dev'])).stdout.split('\n');
    for (const name of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'shm', 'fd']) assert.ok(dev.includes(name), `/dev/${name} in ${dev.join(' ')}`);
    for (const name of ['kmsg', 'hvc0', 'vport0p1', 'console', 'ttyS0']) assert.ok(!dev.includes(name), `no /dev/${name}`);
    assert.equal((await daemon.docker(['exec', 'confined', 'sh', '-c', 'head -c 4 /dev/zero | wc -c'])).stdout.trim(), '4');
    await daemon.docker(['rm', '-f', 'confined'], { timeoutMs: VM_TIMEOUT_MS });
  });

  it('runs without a filter with --security-opt seccomp=unconfined', async () => {
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'none', '--security-opt', 'seccomp=unconfined', '-v', `${probeDir}:/probe:ro`,
      'busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status; /probe/keyctl'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /^Seccomp:\s+0$/m);
    assert.match(run.stdout, /^keyctl allowed$/m);
  });

  it('applies a custom profile (its errnoRet too), also installed late under no-new-privileges for another user', async () => {
    const run = await daemon.docker(['run', '--rm', '--isolation=vm', '--network', 'none', '--security-opt', `seccomp=${join(probeDir, 'deny-mkdir.json')}`,
      '--security-opt', 'no-new-privileges', '-u', 'nobody', '-v', `${probeDir}:/probe:ro`,
      'busybox', 'sh', '-c', 'grep -E "Seccomp:|NoNewPrivs:" /proc/self/status; /probe/keyctl; mkdir /tmp/d'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^NoNewPrivs:\s+1$/m);
    assert.match(run.stdout, /^Seccomp:\s+2$/m);
    // The custom profile replaces docker's: keyctl is allowed, mkdir is not.
    assert.match(run.stdout, /^keyctl allowed$/m);
    assert.match(run.stderr, /mkdir: can't create directory '\/tmp\/d': Permission denied/);
  });

  it('refuses by name a profile the guest cannot apply (a notify listener), starting nothing', async () => {
    const run = await daemon.docker(['run', '--rm', '--name', 'notify', '--isolation=vm', '--network', 'none', '--security-opt', `seccomp=${join(probeDir, 'notify.json')}`, 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(run.exitCode, 125, run.stderr);
    assert.match(run.stderr, /SCMP_ACT_NOTIFY is not supported with --isolation=vm/);
    const left = await daemon.docker(['ps', '-aq', '--filter', 'name=notify']);
    assert.equal(left.stdout.trim(), '');
  });
});
