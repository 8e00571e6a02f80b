/**
 * VM containers that cannot boot or that die: no kernel, no QEMU, a guest whose kernel panics
 * at boot, a guest whose agent never answers, QEMU killed under a running container. Each is a
 * one-line error (exit 125 for the failed starts) and leaves nothing behind: no QEMU or shim
 * process, no berth-vm state directory, no mount under the daemon's root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, symlink, mkdir, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NO_DOCKER, cannotRun, hasDocker, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

const run = promisify(execFile);
const VM_TIMEOUT_MS = 120_000;

/** Pack dir into a newc cpio archive (what the kernel takes as an initramfs). */
async function packInitramfs(dir: string, output: string): Promise<void> {
  await run('sh', ['-c', `cd "${dir}" && find . | cpio -o -H newc --quiet > "${output}"`]);
}

/** Host processes whose command line mentions marker (the daemon's private directory). */
async function processesMentioning(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (cmdline.includes(marker) && /(qemu-system|berth-vm-shim)$/.test(args[0] ?? '')) found.push(args.join(' '));
  }
  return found;
}

/** Nothing of a VM left: processes, berth-vm state, mounts. */
async function assertNothingLeft(daemon: TestDaemon): Promise<void> {
  // A shim or QEMU that is still going away gets a moment; one that stays fails the test.
  let left: string[] = [];
  for (let i = 0; i < 50; i++) {
    left = await processesMentioning(daemon.dir);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(left, [], 'no QEMU or shim left');
  assert.deepEqual(await readdir(join(daemon.execRoot, 'runtime', 'berth-vm')).catch(() => []), [], 'no berth-vm state left');
  assert.deepEqual((await mountsUnder(daemon.dir)).filter((m) => m.includes('/containers/')), [], 'no container mount left');
}

describe('vm isolation: failures', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let scratch: string;
  const daemons: TestDaemon[] = [];
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-vm-fail-'));
  });
  after(async () => {
    for (const daemon of daemons) await daemon.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  async function daemonWith(env: NodeJS.ProcessEnv): Promise<TestDaemon> {
    const daemon = await startTestDaemon({ daemonEnv: env });
    daemons.push(daemon);
    return daemon;
  }

  it('says there is no guest kernel, and leaves nothing', async () => {
    const daemon = await daemonWith({ BERTH_VM_KERNEL: join(scratch, 'no-such-vmlinux') });
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /no guest kernel at .*no-such-vmlinux/);
    assert.equal(result.stderr.trim().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Run ')).length, 1, result.stderr);
    await assertNothingLeft(daemon);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout.trim(), '', '--rm removed the container');
  });

  it('says so when a forced accelerator does not work here, and leaves nothing', async (t) => {
    // Only where KVM cannot boot the guest: no /dev/kvm at all, or the probe's cached answer is
    // tcg (as on PVM hosts).
    const probes = await readdir('/var/cache/berth').catch(() => [] as string[]);
    const answers = await Promise.all(probes.filter((f) => f.startsWith('vm-accel-')).map((f) => readFile(join('/var/cache/berth', f), 'utf8').catch(() => '')));
    const isKvmUnusable = !existsSync('/dev/kvm') || (answers.some((a) => a.trim() === 'tcg') && !answers.some((a) => a.trim() === 'kvm'));
    if (!isKvmUnusable) return t.skip(cannotRun('KVM may work on this host, so a forced KVM that fails cannot be tested') || undefined);
    const daemon = await daemonWith({ BERTH_VM_ACCEL: 'kvm', BERTH_VM_BOOT_TIMEOUT_MS: '8000' });
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /\((accelerator )?kvm\)/);
    await assertNothingLeft(daemon);
  });

  it('says QEMU cannot run, and leaves nothing', async () => {
    const daemon = await daemonWith({ BERTH_VM_QEMU: '/bin/false' });
    const result = await daemon.docker(['run', '--name', 'no-qemu', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /QEMU exited during boot/);
    await assertNothingLeft(daemon);
    // As dockerd: the container stays, not running, and can be removed.
    const state = await daemon.docker(['inspect', '-f', '{{.State.Running}}', 'no-qemu']);
    assert.equal(state.stdout.trim(), 'false');
    assert.equal((await daemon.docker(['rm', 'no-qemu'])).exitCode, 0);
  });

  it("reports a guest kernel panic at boot with the console's words", async () => {
    // An init that dies during boot: the guest kernel panics ("Attempted to kill init!"). It
    // waits first: the virtio console becomes the kernel's console only once the host has
    // answered the port handshake, and a panic before that (an initramfs with no init at all)
    // reaches no console, which made this test fail two runs in three.
    const dying = join(scratch, 'dying');
    await mkdir(join(dying, 'bin'), { recursive: true });
    await mkdir(join(dying, 'dev'));
    await copyFile('/bin/busybox', join(dying, 'bin', 'busybox'));
    await writeFile(join(dying, 'init'), '#!/bin/busybox sh\n/bin/busybox sleep 2\nexit 3\n', { mode: 0o755 });
    await packInitramfs(dying, join(scratch, 'dying-init.cpio'));
    const daemon = await daemonWith({ BERTH_VM_INITRD: join(scratch, 'dying-init.cpio') });
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /QEMU exited during boot[^:]*: Kernel panic - not syncing: Attempted to kill init/i);
    await assertNothingLeft(daemon);
  });

  it('says what it can when a guest ends before its console is up', async () => {
    // An initramfs with no init: the kernel panics before the console exists, so there are no words to quote.
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    await mkdir(join(empty, 'dev'));
    await packInitramfs(empty, join(scratch, 'no-init.cpio'));
    const daemon = await daemonWith({ BERTH_VM_INITRD: join(scratch, 'no-init.cpio') });
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /QEMU exited during boot[^:]*: (.*(panic|init)|the guest printed nothing)/i);
    await assertNothingLeft(daemon);
  });

  it('gives up on a guest agent that never answers, within the deadline', async () => {
    // busybox as /init runs busybox's own init: the guest boots but nothing speaks our protocol.
    const hang = join(scratch, 'hang');
    await mkdir(join(hang, 'bin'), { recursive: true });
    await mkdir(join(hang, 'dev'));
    await copyFile('/bin/busybox', join(hang, 'bin', 'busybox'));
    await symlink('bin/busybox', join(hang, 'init'));
    await packInitramfs(hang, join(scratch, 'hang.cpio'));
    const daemon = await daemonWith({ BERTH_VM_INITRD: join(scratch, 'hang.cpio'), BERTH_VM_BOOT_TIMEOUT_MS: '4000' });
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', 'busybox', 'true'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 125);
    assert.match(result.stderr, /the guest agent did not answer within 4 s/);
    await assertNothingLeft(daemon);
  });

  it('kills a container that needs more memory than its VM has (137), rather than hanging', async () => {
    const daemon = await daemonWith({});
    // --memory 16m gives a 64 MiB VM; the shell tries to hold 200 MB.
    const result = await daemon.docker(['run', '--rm', '--isolation=vm', '--memory', '16m', '--network', 'none', 'busybox', 'sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo ${#x}'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(result.exitCode, 137, result.stderr);
    await assertNothingLeft(daemon);
  });

  it('ends the container when QEMU is killed under it, and leaves nothing', async () => {
    const daemon = await daemonWith({});
    const started = await daemon.docker(['run', '-d', '--name', 'victim', '--isolation=vm', 'busybox', 'sleep', '1000'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(started.exitCode, 0, started.stderr);
    const id = started.stdout.trim();
    const qemuPid = Number((await readFile(join(daemon.execRoot, 'runtime', 'berth-vm', id, 'qemu.pid'), 'utf8')).trim());
    assert.ok(qemuPid > 0);
    process.kill(qemuPid, 'SIGKILL');
    const waited = await daemon.docker(['wait', 'victim'], { timeoutMs: VM_TIMEOUT_MS });
    assert.equal(waited.stdout.trim(), '255');
    const state = await daemon.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'victim']);
    assert.match(state.stdout.trim(), /^exited 255 the VM ended without the container's exit status/);
    assert.equal((await daemon.docker(['rm', 'victim'])).exitCode, 0);
    await assertNothingLeft(daemon);
  });
});
